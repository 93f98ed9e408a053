import DmypySystem
import Foundation
import Glibc
import Testing

/// A real `systemd --user` and `systemd-journald`, private to one test, as DESIGN.md ("Running a
/// real systemd user instance in tests") shows: a private mount namespace gets its own tmpfs on
/// /run/systemd (with /run/systemd/system, which `systemd --user` needs) and on /run/log (so the
/// host's journal is never touched), and runs journald and the user manager. Its XDG_RUNTIME_DIR is
/// a directory we make in the host's temporary directory, so the sockets the manager listens on
/// there (dmypy.sock) are reachable from this process; `systemctl --user` and `journalctl` need the
/// namespace's /run/systemd and run inside it through `nsenter`.
///
/// Cgroups (a pitfall found the hard way): a `systemd --user` started in the root cgroup believes
/// it owns the machine. It makes `init.scope` and moves every process of the root cgroup into it, in
/// every controller hierarchy (PID 1 and everyone's shells left their memory cgroups). So before
/// starting anything the sandbox moves itself into a new child cgroup of its own (a
/// `dmypy-sandbox-…` directory under our current cgroup, in the hierarchy systemd uses: the
/// cgroup2 one, or `name=systemd` plus the hybrid `unified` one), and on cgroup v1 hides the
/// controller hierarchies (memory, cpu, pids, …) behind a tmpfs on /sys/fs/cgroup in the namespace,
/// so that our processes stay in the cgroups the host put them in. Teardown kills, by pid, every
/// process of the namespace and of those cgroups, then removes the cgroups and the directories.
///
/// Also set, so that nothing of the host's user leaks in or out: HOME (a user service's working
/// directory: the daemon writes its status file there), XDG_CONFIG_HOME and XDG_DATA_HOME (where
/// user units are looked for), a volatile journal that does not read the kernel's ring buffer
/// (journald would otherwise import the whole dmesg, and write the persistent journal when
/// /var/log/journal exists, which also gets a tmpfs), and journald's own messages to a file
/// (by default it writes them to /dev/kmsg, the host's kernel log). No D-Bus is needed:
/// `systemctl --user` reaches the manager at $XDG_RUNTIME_DIR/systemd/private (the manager says
/// "Failed to connect to system bus" in its log, harmlessly). The host's user units (dbus.socket,
/// gpg-agent sockets, …) are started too, listening in our runtime directory; they are left alone.
final class SystemdSandbox {
    /// Everything of ours on the host: the runtime directory, HOME, the logs, the cgroups' list.
    let root: URL
    /// The user manager's XDG_RUNTIME_DIR (`%t` in units): `dmypy.socket` listens in it.
    let runtimeDirectory: String
    /// `unshare … sh setup` that `exec`s `sleep infinity`: its pid holds the namespace open.
    private let namespace: Harness.Running
    /// The namespace's identity (/proc/<pid>/ns/mnt), read once the namespace exists.
    private var namespaceID: String?
    private var tornDown = false

    static let sandboxPrefix = "dmypy-sandbox-"

    // MARK: tools

    static func tool(_ name: String, also: [String] = []) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return (also + directories.map { "\($0)/\(name)" }).first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let unshare = tool("unshare")
    static let nsenter = tool("nsenter")
    static let systemd = tool("systemd", also: ["/usr/lib/systemd/systemd", "/lib/systemd/systemd"])
    static let journald = tool("systemd-journald", also: ["/usr/lib/systemd/systemd-journald", "/lib/systemd/systemd-journald"])

    /// False only where making a mount namespace is not permitted (EPERM: not root, or a container
    /// without CAP_SYS_ADMIN), the one case in which the systemd tests are skipped. Anything else
    /// (a missing tool, a failing systemd) lets the test run and fail with the reason.
    static let mountNamespacesArePermitted = unsharePermits(privateMountNamespace)

    /// False only where an unprivileged user namespace (`unshare -Ur`) is not permitted.
    static let userNamespacesArePermitted = unsharePermits(userNamespace)

    /// `unshare` options: a mount namespace whose mounts do not reach the host.
    static let privateMountNamespace = ["-m", "--propagation", "private"]
    /// `unshare` options: a user namespace in which we are root (and may set its own limits).
    static let userNamespace = ["-U", "-r"]

    /// Runs `sh -c script` in new namespaces (`options`), in `directory`, with the test environment;
    /// `arguments` are the script's `$1`, `$2`, ….
    static func runScript(_ script: String, _ arguments: [String], unshare options: [String], in directory: URL) throws -> Harness.Result {
        try Harness.run(executable: try #require(unshare), arguments: options + ["sh", "-c", script, "sh"] + arguments,
                        in: directory, env: Harness.environment(), timeout: 180)
    }

    private static func unsharePermits(_ options: [String]) -> Bool {
        guard let unshare else { return true }
        guard let result = try? Harness.run(executable: unshare, arguments: options + ["true"],
                                            in: URL(fileURLWithPath: "/"), env: ProcessInfo.processInfo.environment, timeout: 30)
        else { return true }
        return !(result.status != 0 && result.stderr.contains("Operation not permitted"))
    }

    // MARK: start

    /// The namespace's setup, run by `sh` inside it; `exec sleep infinity` keeps it alive.
    private static let setupScript = #"""
        set -eu
        R=$DMYPY_SANDBOX
        fail() { echo "dmypy sandbox: $*" >&2; exit 1; }
        cgroup_of() { sed -n "s|^[0-9]*:$1:||p" /proc/self/cgroup; }
        # A cgroup of our own first: systemd --user moves every process of its cgroup into init.scope.
        if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
            dir=/sys/fs/cgroup$(cgroup_of '')
            dir=${dir%/}/$DMYPY_SANDBOX_ID
            mkdir "$dir" || fail "cannot create the cgroup $dir"
            echo "$dir" >> "$R/cgroups"
            echo $$ > "$dir/cgroup.procs" || fail "cannot move into the cgroup $dir"
        else
            path=$(cgroup_of name=systemd)
            [ -n "$path" ] || fail "no name=systemd cgroup hierarchy (/proc/self/cgroup: $(cat /proc/self/cgroup))"
            path=${path%/}/$DMYPY_SANDBOX_ID
            mkdir "/sys/fs/cgroup/systemd$path" || fail "cannot create the cgroup /sys/fs/cgroup/systemd$path"
            echo "/sys/fs/cgroup/systemd$path" >> "$R/cgroups"
            echo $$ > "/sys/fs/cgroup/systemd$path/cgroup.procs" || fail "cannot move into /sys/fs/cgroup/systemd$path"
            hybrid=
            if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && mkdir "/sys/fs/cgroup/unified$path" 2>/dev/null; then
                echo "/sys/fs/cgroup/unified$path" >> "$R/cgroups"
                echo $$ > "/sys/fs/cgroup/unified$path/cgroup.procs"
                hybrid=1
            fi
            # Only systemd's own hierarchies are visible in here: the controllers' stay the host's.
            mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
            mkdir /sys/fs/cgroup/systemd
            mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
            if [ -n "$hybrid" ]; then
                mkdir /sys/fs/cgroup/unified
                mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
            fi
        fi
        mount -t tmpfs tmpfs /run/systemd
        mkdir -p /run/systemd/system /run/systemd/journal /run/systemd/journald.conf.d
        mount -t tmpfs tmpfs /run/log
        if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi
        # A journal in memory, of this namespace only: not the kernel's ring buffer (ReadKMsg), and
        # journald's own messages to its log file rather than to the host's /dev/kmsg.
        printf '[Journal]\nStorage=volatile\nReadKMsg=no\n' > /run/systemd/journald.conf.d/zz-dmypy-sandbox.conf
        SYSTEMD_LOG_TARGET=console "$DMYPY_JOURNALD" > "$R/journald.log" 2>&1 &
        "$DMYPY_SYSTEMD" --user --log-target=journal > "$R/systemd.log" 2>&1 &
        exec sleep infinity
        """#

    /// Starts the namespace, journald and the user manager; returns once `systemctl --user` answers
    /// that the manager is running (bounded).
    init() throws {
        guard let unshare = Self.unshare, Self.nsenter != nil, Self.systemd != nil, Self.journald != nil,
              Self.tool("systemctl") != nil, Self.tool("journalctl") != nil else {
            throw SandboxError.missingTool("unshare \(Self.unshare ?? "not found"), nsenter \(Self.nsenter ?? "not found"), systemd \(Self.systemd ?? "not found"), systemd-journald \(Self.journald ?? "not found"), systemctl \(Self.tool("systemctl") ?? "not found"), journalctl \(Self.tool("journalctl") ?? "not found")")
        }
        let id = Self.sandboxPrefix + UUID().uuidString.prefix(8).lowercased()
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent(id)
        runtimeDirectory = root.appendingPathComponent("runtime").path
        for name in ["runtime", "home", "config", "data"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(name), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        let environment: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": root.appendingPathComponent("home").path,
            "XDG_RUNTIME_DIR": runtimeDirectory,
            "XDG_CONFIG_HOME": root.appendingPathComponent("config").path,
            "XDG_DATA_HOME": root.appendingPathComponent("data").path,
            "DMYPY_SANDBOX": root.path,
            "DMYPY_SANDBOX_ID": id,
            "DMYPY_SYSTEMD": Self.systemd!,
            "DMYPY_JOURNALD": Self.journald!,
        ]
        do {
            namespace = try Harness.spawn(executable: unshare, arguments: Self.privateMountNamespace + ["sh", "-c", Self.setupScript],
                                          in: root, env: environment)
        } catch {
            try? FileManager.default.removeItem(at: root)
            throw error
        }
        do {
            try waitUntilRunning()
        } catch {
            let log = diagnostics()
            tearDown()
            throw SandboxError.notRunning("\(error)\n\(log)")
        }
    }

    private func waitUntilRunning() throws {
        let own = FileSystem.readLink("/proc/self/ns/mnt")
        let deadline = Date().addingTimeInterval(60)
        var last = ""
        while Date() < deadline {
            if namespace.hasEnded { throw SandboxError.notRunning("the namespace's setup ended") }
            if namespaceID == nil, let ns = FileSystem.readLink("/proc/\(namespace.pid)/ns/mnt"), ns != own {
                namespaceID = ns
            }
            if namespaceID != nil {
                let state = try systemctl(["is-system-running"])
                last = "\(state)"
                // "degraded" is a user unit of the host's that failed (none of ours): still usable.
                if ["running", "degraded"].contains(state.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) { return }
            }
            usleep(50_000)
        }
        throw SandboxError.notRunning("systemctl --user is-system-running: \(last)")
    }

    // MARK: inside the namespace

    /// Runs a command inside the namespace (`nsenter -t <pid> -m`), with the manager's runtime dir.
    func inside(_ executable: String, _ arguments: [String], timeout: Double = 60) throws -> Harness.Result {
        let env: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": root.appendingPathComponent("home").path,
            "XDG_RUNTIME_DIR": runtimeDirectory,
            "SYSTEMD_PAGER": "",
            "SYSTEMD_COLORS": "0",
            "COLUMNS": "500",
        ]
        return try Harness.run(executable: Self.nsenter!, arguments: ["-t", "\(namespace.pid)", "-m", "--", executable] + arguments,
                               in: root, env: env, timeout: timeout)
    }

    func systemctl(_ arguments: [String]) throws -> Harness.Result {
        try inside(Self.tool("systemctl")!, ["--user", "--no-pager"] + arguments)
    }

    func journalctl(_ arguments: [String]) throws -> Harness.Result {
        try inside(Self.tool("journalctl")!, ["--no-pager"] + arguments)
    }

    /// `systemctl --user is-active <unit>`: "active", "inactive", "activating", "failed", …
    func state(_ unit: String) throws -> String {
        try systemctl(["is-active", unit]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `systemctl --user show -p <property> --value <unit>`.
    func property(_ unit: String, _ name: String) throws -> String {
        try systemctl(["show", "-p", name, "--value", unit]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Installs user units in $XDG_RUNTIME_DIR/systemd/user (the manager's runtime unit directory)
    /// and reloads the manager.
    func install(_ units: [String: String]) throws {
        let directory = URL(fileURLWithPath: runtimeDirectory).appendingPathComponent("systemd/user")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, text) in units {
            try text.write(to: directory.appendingPathComponent(name), atomically: false, encoding: .utf8)
        }
        let reload = try systemctl(["daemon-reload"])
        if reload.status != 0 { throw SandboxError.command("systemctl --user daemon-reload", reload) }
    }

    /// What went on inside, for a failure's message: the manager's and journald's own output, the
    /// state of every dmypy unit and the journal.
    func diagnostics() -> String {
        var text = ""
        for name in ["systemd.log", "journald.log"] {
            let log = (try? String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)) ?? "(none)"
            text += "--- \(name)\n\(log)"
        }
        if namespaceID != nil {
            if let status = try? systemctl(["status", "--full", "--lines=0", "dmypy.socket", "dmypy.service"]) {
                text += "--- systemctl --user status dmypy.socket dmypy.service\n\(status.stdout)\(status.stderr)"
            }
            if let journal = try? journalctl(["-o", "short-monotonic", "-n", "200"]) {
                text += "--- journalctl -n 200\n\(journal.stdout)\(journal.stderr)"
            }
        }
        return text
    }

    // MARK: stop

    /// The cgroups the setup made (recorded by the script as it made them).
    private var cgroups: [String] {
        let text = (try? String(contentsOf: root.appendingPathComponent("cgroups"), encoding: .utf8)) ?? ""
        // Never anything but a directory the setup made for this sandbox.
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("/sys/fs/cgroup/") && $0.contains(Self.sandboxPrefix) }
    }

    /// Whether a pid is a process that can still run (not gone, not a zombie).
    private static func isLive(_ pid: pid_t) -> Bool {
        guard let bytes = FileSystem.read("/proc/\(pid)/stat") else { return false }
        let stat = String(decoding: bytes, as: UTF8.self)
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
    }

    /// Every live process of the sandbox: those in its mount namespace, and those in its cgroups.
    private func processes() -> Set<pid_t> {
        var pids = Set<pid_t>()
        if let namespaceID {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = pid_t(entry) else { continue }
                if FileSystem.readLink("/proc/\(pid)/ns/mnt") == namespaceID { pids.insert(pid) }
            }
        }
        for cgroup in cgroups {
            guard let walker = FileManager.default.enumerator(atPath: cgroup) else { continue }
            var files = ["cgroup.procs"]
            while let next = walker.nextObject() as? String {
                if next.hasSuffix("/cgroup.procs") { files.append(next) }
            }
            for file in files {
                let text = FileSystem.read("\(cgroup)/\(file)").map { String(decoding: $0, as: UTF8.self) } ?? ""
                pids.formUnion(text.split(separator: "\n").compactMap { pid_t($0) })
            }
        }
        pids.remove(getpid())
        pids.remove(1)
        return pids.filter(Self.isLive)
    }

    /// Kills every process of the sandbox by pid (SIGKILL, until none is left, bounded), reaps the
    /// namespace's first process (our child), removes the cgroups and the directories.
    func tearDown() {
        guard !tornDown else { return }
        tornDown = true
        let deadline = Date().addingTimeInterval(30)
        var left = processes()
        while !left.isEmpty && Date() < deadline {
            for pid in left { kill(pid, SIGKILL) }
            usleep(20_000)
            left = processes()
        }
        if !namespace.hasEnded { kill(namespace.pid, SIGKILL) }
        _ = try? Harness.collect(namespace, timeout: 10)
        for cgroup in cgroups {
            // Deepest first: a cgroup is removed with rmdir once its children are.
            var directories = [cgroup]
            if let walker = FileManager.default.enumerator(atPath: cgroup) {
                while let next = walker.nextObject() as? String {
                    if FileSystem.isDirectory("\(cgroup)/\(next)") { directories.append("\(cgroup)/\(next)") }
                }
            }
            for directory in directories.sorted(by: { $0.count > $1.count }) {
                let removeBy = Date().addingTimeInterval(5)
                while !FileSystem.removeDirectory(directory) && FileSystem.exists(directory) && Date() < removeBy { usleep(20_000) }
            }
        }
        if !left.isEmpty { Issue.record("systemd sandbox: processes still alive after SIGKILL: \(left.sorted())") }
        try? FileManager.default.removeItem(at: root)
    }

    deinit { tearDown() }

    enum SandboxError: Error, CustomStringConvertible {
        case missingTool(String), notRunning(String), command(String, Harness.Result)
        var description: String {
            switch self {
            case .missingTool(let tools): return "systemd sandbox: a tool is missing (\(tools))"
            case .notRunning(let why): return "systemd sandbox: the user manager did not come up: \(why)"
            case .command(let command, let result): return "systemd sandbox: \(command) failed: \(result)"
            }
        }
    }
}
