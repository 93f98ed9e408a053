import DmypySystem
import Foundation
import Glibc
import Testing

/// Many clients at once, a peer of another user, and a signal while a check runs: each gets a
/// clear answer, and the daemon either serves on or goes away cleanly.
@Suite(.serialized) struct ConcurrencyAndSignalTests {
    // MARK: helpers

    /// Whether `pid` is gone (no such process, or a zombie nobody has reaped yet).
    func isGone(_ pid: pid_t) -> Bool {
        if kill(pid, 0) != 0 { return errno == ESRCH }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state == "Z" || state == "X"
    }

    /// Waits (bounded) until `pid` is gone; returns whether it is.
    func waitUntilGone(_ pid: pid_t, seconds: Double = 30) -> Bool {
        Harness.eventually(within: seconds) { isGone(pid) }
    }

    /// Whether `pid` holds a connected Unix socket (/proc/<pid>/fd against /proc/net/unix, whose
    /// St column is 03, SS_CONNECTED, as soon as connect() returns, accepted or not).
    func hasConnectedSocket(_ pid: pid_t) -> Bool {
        let fdDirectory = "/proc/\(pid)/fd"
        let inodes = Set(((try? FileManager.default.contentsOfDirectory(atPath: fdDirectory)) ?? []).compactMap { fd -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDirectory)/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return String(target.dropFirst("socket:[".count).dropLast())
        })
        // Read to the end: Foundation may stop at the first page of a /proc file.
        guard !inodes.isEmpty, let bytes = DmypySystem.FileSystem.read("/proc/net/unix") else { return false }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst().contains { line in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            return columns.count >= 7 && columns[5] == "03" && inodes.contains(String(columns[6]))
        }
    }

    /// Kills a process we started if it is still there (a failed test leaves nothing behind).
    func killIfAlive(_ pid: pid_t?) {
        guard let pid, pid > 0, !isGone(pid) else { return }
        kill(pid, SIGKILL)
    }

    func log(_ dir: URL) -> String {
        (try? String(contentsOf: dir.appendingPathComponent("daemon.log"), encoding: .utf8)) ?? "(no log)"
    }

    // MARK: 50 clients at once

    @Test func fiftyConcurrentClientsAllGetTheRightAnswer() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        let started = try Harness.dmypy(.ours, ["start", "--log-file", "daemon.log"], in: dir)
        try #require(started.status == 0, "\(started)")
        let daemon = try Harness.statusFilePID(dir)

        // What one client at a time gets, for each of two sets of files.
        let twoFiles = ["check", "a.py", "b.py"]
        let threeFiles = ["check", "a.py", "b.py", "c.py"]
        let expectedTwo = try Harness.dmypy(.ours, twoFiles, in: dir)
        let expectedThree = try Harness.dmypy(.ours, threeFiles, in: dir)
        #expect(expectedTwo.status == 1 && expectedTwo.stdout.contains("Incompatible types in assignment"), "\(expectedTwo)")
        #expect(expectedThree.status == 1 && expectedThree.stdout.contains("checked 3 source files"), "\(expectedThree)")
        #expect(expectedTwo != expectedThree)

        // All 50 are started before any is waited for, and are connected at once: the daemon is
        // stopped (SIGSTOP) until every client has connected, so it finds all 50 in its backlog.
        // The `status` clients come last: they give up after 5 s without an answer.
        let commands: [[String]] = (0..<50).map { i in i < 34 ? [twoFiles, threeFiles][i % 2] : ["status"] }
        try #require(kill(daemon, SIGSTOP) == 0)
        var resumed = false
        defer { if !resumed { kill(daemon, SIGCONT) } }
        var running: [Harness.Running] = []
        for command in commands {
            running.append(try Harness.spawnDmypy(.ours, command, in: dir))
        }
        var waiting = running
        Harness.eventually(within: 120) {
            waiting.removeAll { hasConnectedSocket($0.pid) || $0.hasEnded }
            return waiting.isEmpty
        }
        #expect(waiting.isEmpty, "clients not connected after 120 s: \(waiting.map(\.arguments))")
        #expect(running.allSatisfy { !$0.hasEnded }, "clients ended before the daemon could answer them")
        #expect(kill(daemon, SIGCONT) == 0)
        resumed = true
        var results: [Harness.Result?] = []
        for process in running {
            do {
                results.append(try Harness.collect(process, timeout: 300))
            } catch {
                Issue.record("client \(process.arguments) did not finish: \(error)")
                results.append(nil)
            }
        }

        for (command, result) in zip(commands, results) {
            guard let result else { continue }
            switch command {
            case ["status"]:
                #expect(result == .init(stdout: "Daemon is up and running\n", stderr: "", status: 0), "\(command):\n\(result)\nlog:\n\(log(dir))")
            case twoFiles:
                #expect(result == expectedTwo, "\(command):\n\(result)\nexpected:\n\(expectedTwo)\nlog:\n\(log(dir))")
            default:
                #expect(result == expectedThree, "\(command):\n\(result)\nexpected:\n\(expectedThree)\nlog:\n\(log(dir))")
            }
        }

        // The same daemon, with the same engine, still serves.
        #expect(!isGone(daemon), "the daemon is gone; log:\n\(log(dir))")
        #expect(try Harness.statusFilePID(dir) == daemon)
        let status = try Harness.dmypy(.ours, ["status"], in: dir)
        #expect(status == .init(stdout: "Daemon is up and running\n", stderr: "", status: 0), "\(status)")
        let verbose = try Harness.verboseStatus(dir)
        #expect(verbose["engine_starts"] == "1", "\(verbose)\nlog:\n\(log(dir))")
        #expect(verbose["engine_busy"] == "False", "\(verbose)")
        #expect(try Harness.dmypy(.ours, twoFiles, in: dir) == expectedTwo)
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    // MARK: a peer of another user

    /// One framed `status` request over the socket; prints whether it connected and what came back.
    static let peerClient = """
        import json, socket, struct, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(60)
        try:
            s.connect(sys.argv[1])
        except OSError as e:
            print("connect failed:", e)
            sys.exit(3)
        print("connected")
        payload = json.dumps({"command": "status"}).encode()
        try:
            s.sendall(struct.pack(">I", len(payload)) + payload)
        except OSError as e:
            print("send failed:", e)
        data = b""
        end = "eof"
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            end = "reset"
        except socket.timeout:
            end = "timeout"
        print("received", len(data), end)
        print(data[4:].decode(errors="replace"))
        """

    @Test func aPeerOfAnotherUserIsRefused() throws {
        try Harness.requireMypy()
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let setpriv else {
            Issue.record("setpriv (util-linux) is needed to connect as another user, and was not found in /usr/bin, /bin or /usr/sbin")
            return
        }
        guard getuid() == 0 else {
            Issue.record("connecting as another user (uid 65534) needs root; this test runs as uid \(getuid())")
            return
        }
        let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]
        let env = Harness.environment()

        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        let started = try Harness.dmypy(.ours, ["start", "--log-file", "daemon.log"], in: dir)
        try #require(started.status == 0, "\(started)")
        let daemon = try Harness.statusFilePID(dir)

        // A Python that uid 65534 can run (the venv's may live under a private home).
        let candidates = [Harness.python, "/usr/bin/python3", "/usr/local/bin/python3"]
        let python = try candidates.first { candidate in
            guard FileManager.default.isExecutableFile(atPath: candidate) else { return false }
            let probe = try Harness.run(executable: setpriv, arguments: nobody + [candidate, "-c", "import socket"],
                                        in: dir, env: env, timeout: 60)
            return probe.status == 0
        }
        guard let python else {
            Issue.record("no Python that uid 65534 may run among \(candidates)")
            return
        }

        // Past the private directory: the uid check is all that stands in the way.
        let data = try Data(contentsOf: dir.appendingPathComponent(".dmypy.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let socketPath = try #require(object["connection_name"] as? String)
        let socketDirectory = (socketPath as NSString).deletingLastPathComponent
        try #require(chmod(socketDirectory, 0o711) == 0, "chmod \(socketDirectory): errno \(errno)")
        try #require(chmod(socketPath, 0o777) == 0, "chmod \(socketPath): errno \(errno)")

        // Control: the same client, as our own user, gets an answer.
        let own = try Harness.run(executable: python, arguments: ["-c", Self.peerClient, socketPath], in: dir, env: env, timeout: 120)
        #expect(own.status == 0 && own.stdout.hasPrefix("connected\n"), "\(own)")
        #expect(own.stdout.contains("\"pid\""), "our own user got no status answer:\n\(own)")

        // As uid 65534: it connects, and the daemon closes without a word.
        let other = try Harness.run(executable: setpriv, arguments: nobody + [python, "-c", Self.peerClient, socketPath],
                                    in: dir, env: env, timeout: 120)
        #expect(other.status == 0 && other.stdout.hasPrefix("connected\n"), "the peer did not reach the daemon:\n\(other)")
        #expect(other.stdout.contains("received 0 eof\n") || other.stdout.contains("received 0 reset\n"),
                "uid 65534 got an answer (or no close):\n\(other)\nlog:\n\(log(dir))")
        #expect(log(dir).contains("Refused a connection from uid 65534"), "log:\n\(log(dir))")

        // And serves its own user on.
        #expect(!isGone(daemon))
        let status = try Harness.dmypy(.ours, ["status"], in: dir)
        #expect(status == .init(stdout: "Daemon is up and running\n", stderr: "", status: 0), "\(status)")
        let check = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        #expect(check.status == 1 && check.stdout.contains("Incompatible types in assignment"), "\(check)")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    // MARK: SIGTERM during a check

    /// A chain of modules, each importing the next, big enough that a cold check takes a while.
    static func chainProject(modules: Int) -> [String: String] {
        var files: [String: String] = [:]
        for i in 0..<modules {
            var text = ""
            if i + 1 < modules { text += "from m\(i + 1) import f\(i + 1)_0, C\(i + 1)\n\n" }
            for j in 0..<10 {
                text += "def f\(i)_\(j)(x: int, y: str) -> str:\n    return y * x + str(\(j))\n\n"
            }
            text += "class C\(i):\n    def __init__(self, v: int) -> None:\n        self.v = v\n\n    def get(self) -> int:\n        return self.v\n\n"
            if i + 1 < modules { text += "def use\(i)() -> str:\n    return f\(i + 1)_0(C\(i + 1)(3).get(), 'a')\n" }
            files["m\(i).py"] = text
        }
        return files
    }

    @Test func sigtermAnswersAWaitingCheckAndTheDaemonGoesAway() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(Self.chainProject(modules: 400))
        var daemon: pid_t?
        var engine: pid_t?
        defer {
            killIfAlive(daemon)
            killIfAlive(engine)
            Harness.cleanUp(dir)
        }
        let started = try Harness.dmypy(.ours, ["start", "--log-file", "daemon.log"], in: dir)
        try #require(started.status == 0, "\(started)")
        daemon = try Harness.statusFilePID(dir)
        let pid = try #require(daemon)

        // A cold check of the whole chain, in the background; wait (bounded) until the engine is on it.
        let check = try Harness.spawnDmypy(.ours, ["check", "m0.py"], in: dir)
        var busy = false
        try Harness.eventually(within: 120) {
            let fields = try Harness.verboseStatus(dir)
            busy = fields.bool("engine_busy") == true
            if busy, let value = fields["engine_pid"] { engine = pid_t(value) }
            return busy || check.hasEnded
        }
        guard busy else {
            let result = try Harness.collect(check, timeout: 300)
            Issue.record("the daemon was never seen busy (the check may have been too quick):\n\(result)\nlog:\n\(log(dir))")
            return
        }

        #expect(kill(pid, SIGTERM) == 0)
        let result = try Harness.collect(check, timeout: 120)
        #expect(result == .init(stdout: "", stderr: "Daemon is shutting down (signal 15)\n", status: 2),
                "\(result)\nlog:\n\(log(dir))")

        #expect(waitUntilGone(pid), "the daemon (pid \(pid)) is still running after SIGTERM; log:\n\(log(dir))")
        if let engine { #expect(waitUntilGone(engine), "the engine (pid \(engine)) is still running after SIGTERM") }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".dmypy.json").path), "the status file is still there")
        #expect(log(dir).contains("Received signal 15; shutting down"), "log:\n\(log(dir))")
        let status = try Harness.dmypy(.ours, ["status"], in: dir)
        #expect(status.status == 2, "\(status)")
    }
}
