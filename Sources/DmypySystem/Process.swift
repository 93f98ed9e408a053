import CSupport
import Glibc

/// Child processes: spawned with a clean signal mask and exactly the descriptors we hand them.
public enum Process {
    /// How a child ended.
    public enum Termination: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "killed by signal \(signal)"
            }
        }
    }

    /// Spawns `executable` (searched in PATH when it has no slash) with `arguments` (argv[0]
    /// included). `descriptors` maps child descriptor numbers to ours; every other descriptor is
    /// close-on-exec and so not inherited. `posix_spawnp(3)`
    public static func spawn(
        _ executable: String,
        arguments: [String],
        environment: [String]? = nil,
        directory: String? = nil,
        descriptors: [Int32: FileDescriptor],
        newSession: Bool = false
    ) throws(SystemError) -> pid_t {
        var attr = posix_spawnattr_t()
        var rc = cs_spawnattr_init_clean(&attr, newSession ? 1 : 0)
        defer { posix_spawnattr_destroy(&attr) }
        guard rc == 0 else { throw SystemError(call: "posix_spawnattr", errno: rc) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let directory {
            cs_spawn_addchdir(&actions, directory)
        }
        // dup2 clears close-on-exec on the target; a descriptor mapped to its own number needs
        // the flag cleared explicitly, which posix_spawn does for dup2(fd, fd) since glibc 2.29.
        for (target, source) in descriptors.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_adddup2(&actions, source.rawValue, target)
        }
        // Nothing else crosses: not even descriptors a parent of ours leaked without close-on-exec.
        cs_spawn_addclosefrom(&actions, (descriptors.keys.max() ?? 2) + 1)

        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = environment ?? currentEnvironment()
        var envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        rc = posix_spawnp(&pid, executable, &actions, &attr, &argv, &envp)
        guard rc == 0 else { throw SystemError(call: "posix_spawn(\(executable))", errno: rc) }
        return pid
    }

    /// "KEY=value" strings as a dictionary (the first of repeated keys wins, as getenv does).
    public static func environmentDictionary(_ entries: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let key = String(entry[..<eq])
            if result[key] == nil { result[key] = String(entry[entry.index(after: eq)...]) }
        }
        return result
    }

    /// Spawns `executable` with `arguments` (argv[0] not included), stdin and stderr on /dev/null
    /// and stdout on a pipe; returns the child and the pipe's read end (the caller closes it).
    public static func spawnWithOutputPipe(_ executable: String, _ arguments: [String], environment: [String],
                                           directory: String) throws(SystemError) -> (pid: pid_t, output: FileDescriptor) {
        let pipe = try FileDescriptor.pipe()
        defer { pipe.write.close() }
        do {
            let devnull = try FileDescriptor.open("/dev/null", O_RDWR)
            defer { devnull.close() }
            let pid = try spawn(executable, arguments: [executable] + arguments, environment: environment, directory: directory,
                                descriptors: [0: devnull, 1: pipe.write, 2: devnull])
            return (pid, pipe.read)
        } catch {
            pipe.read.close()
            throw error
        }
    }

    /// Runs a short command to completion, waiting for it (the client's way); returns its stdout
    /// (stdin and stderr are /dev/null) and its exit status (-1 when it did not exit normally).
    public static func runCapturingOutput(_ executable: String, _ arguments: [String], environment: [String: String],
                                          directory: String) throws(SystemError) -> (text: String, status: Int32) {
        let child = try spawnWithOutputPipe(executable, arguments, environment: environment.map { "\($0.key)=\($0.value)" },
                                            directory: directory)
        let bytes = (try? child.output.readAll()) ?? []
        child.output.close()
        guard case .exited(let status)? = wait(child.pid) else { return (String(decoding: bytes, as: UTF8.self), -1) }
        return (String(decoding: bytes, as: UTF8.self), status)
    }

    /// This process's environment as "KEY=value" strings.
    public static func currentEnvironment() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }

    /// Reaps the child if it has ended; nil while it runs. `waitpid(2)` with WNOHANG
    public static func reap(_ pid: pid_t) -> Termination? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        return termination(status)
    }

    /// Waits for the child to end. `waitpid(2)`
    public static func wait(_ pid: pid_t) -> Termination? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, 0)
            if result == pid { return termination(status) }
            if result == -1 && cs_errno() == EINTR { continue }
            return nil
        }
    }

    static func termination(_ status: Int32) -> Termination {
        if cs_wifsignaled(status) != 0 { return .signaled(cs_wtermsig(status)) }
        return .exited(cs_wexitstatus(status))
    }

    /// Sends a signal. `kill(2)`
    public static func signal(_ pid: pid_t, _ signal: Int32) throws(SystemError) {
        try syscall("kill") { Glibc.kill(pid, signal) }
    }

    /// True when a process with this pid exists (kill with signal 0, as mypy's client does).
    public static func isAlive(_ pid: pid_t) -> Bool {
        Glibc.kill(pid, 0) == 0 || cs_errno() == EPERM
    }

    /// A process's arguments, argv[0] first, from `/proc/PID/cmdline`; nil when it cannot be read
    /// (the process is gone, or /proc hides other users' processes).
    public static func commandLine(_ pid: pid_t) -> [String]? {
        guard let bytes = FileSystem.read("/proc/\(pid)/cmdline"), !bytes.isEmpty else { return nil }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast(bytes.last == 0 ? 1 : 0)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    public static var currentID: pid_t { getpid() }
}
