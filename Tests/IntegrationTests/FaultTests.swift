import Foundation
import Glibc
import Testing

/// Bad input and faults: each gets a clear answer and the daemon keeps serving.
@Suite(.serialized) struct FaultTests {
    /// Connects to the daemon's socket and sends raw bytes; returns what came back before close.
    func raw(_ project: URL, _ bytes: [UInt8], hangUp: Bool = false) throws -> [UInt8] {
        let data = try Data(contentsOf: project.appendingPathComponent(".dmypy.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let path = object["connection_name"] as! String
        let fd = Harness.connectRaw(path)
        try #require(fd >= 0)
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if hangUp { return [] }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            received += buffer[0..<n]
        }
        return received
    }

    func frame(_ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + payload
    }

    func replyText(_ bytes: [UInt8]) -> String { String(decoding: bytes.dropFirst(4), as: UTF8.self) }

    @Test func badRequestsGetErrorsAndTheDaemonServesOn() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        #expect(replyText(try raw(dir, frame("not json"))).contains("Data received is not valid JSON"))
        #expect(replyText(try raw(dir, frame("[1, 2]"))).contains("Data received is not a dict"))
        #expect(replyText(try raw(dir, frame("{}"))).contains("No command found in request"))
        #expect(replyText(try raw(dir, frame("{\"command\": 5}"))).contains("Command is not a string"))
        #expect(replyText(try raw(dir, frame("{\"command\": \"bogus\"}"))).contains("Unrecognized command 'bogus'"))
        #expect(replyText(try raw(dir, frame("{\"command\": \"check\", \"files\": [\"a.py\"], \"nonsense\": 1}"))).contains("Invalid request for command 'check'"))
        #expect(replyText(try raw(dir, [0x7F, 0xFF, 0xFF, 0xFF, 0x7B])).contains("exceeds the limit"))
        _ = try raw(dir, frame("{\"command\": \"check\", \"files\": [\"a.py\"]}"), hangUp: true)
        _ = try raw(dir, Array(frame("{\"command\": \"check\"}").prefix(6)), hangUp: true)
        let status = try Harness.dmypy(.ours, ["status"], in: dir)
        #expect(status.stdout == "Daemon is up and running\n", "\(status)")
        let check = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        #expect(check.status == 1 && check.stdout.contains("Incompatible types in assignment"), "\(check)")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    /// Clients that connect and send nothing, or half a request, block nobody.
    @Test func silentClientsBlockNobody() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        let data = try Data(contentsOf: dir.appendingPathComponent(".dmypy.json"))
        let path = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["connection_name"] as? String)
        var silent: [Int32] = []
        defer { silent.forEach { close($0) } }
        for i in 0..<5 {
            let fd = Harness.connectRaw(path)
            try #require(fd >= 0)
            silent.append(fd)
            if i % 2 == 1 { _ = [UInt8](frame("{\"command\": \"status\"}").prefix(7)).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
        }
        let status = try Harness.dmypy(.ours, ["status"], in: dir)
        #expect(status == .init(stdout: "Daemon is up and running\n", stderr: "", status: 0), "\(status)")
        let check = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        #expect(check.status == 1 && check.stdout.contains("Incompatible types in assignment"), "\(check)")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    @Test func staleStatusFileOfADeadDaemonIsReplaced() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        let pid = try Harness.statusFilePID(dir)
        kill(pid, SIGKILL)
        while kill(pid, 0) == 0 { usleep(10_000) }
        let status = try Harness.dmypy(.ours, ["status"], in: dir)
        #expect(status == .init(stdout: "", stderr: "Daemon has died\n", status: 2))
        let run = try Harness.dmypy(.ours, ["run", "--", "a.py", "b.py"], in: dir)
        #expect(run.status == 1 && run.stdout.hasPrefix("Daemon started\n"), "\(run)")
        #expect(try Harness.statusFilePID(dir) != pid)
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    /// The daemon is gone (killed, or the machine rebooted) and its pid now belongs to another
    /// process, its socket with it. mypy's client takes that process for the daemon: `start` says
    /// "Daemon is still alive" until the file is removed by hand, and `kill` kills the process.
    /// Ours says the daemon has died, leaves the process alone, and starts a new daemon.
    @Test func staleStatusFileWhosePidWasReusedIsReplaced() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        let other = try Harness.spawn(executable: "/bin/sleep", arguments: ["600"], in: URL(fileURLWithPath: "/"), env: [:])
        defer { kill(other.pid, SIGKILL); _ = try? Harness.collect(other, timeout: 10) }
        let gone = NSTemporaryDirectory() + "dmypy-gone-\(UUID().uuidString.prefix(8))/dmypy.sock"
        try Harness.write(dir, ".dmypy.json", #"{"pid": \#(other.pid), "connection_name": "\#(gone)"}"#)

        let died = Harness.Result(stdout: "", stderr: "Daemon has died\n", status: 2)
        #expect(try Harness.dmypy(.ours, ["status"], in: dir) == died)
        #expect(try Harness.dmypy(.ours, ["kill"], in: dir) == died)
        #expect(kill(other.pid, 0) == 0, "kill left the other process alone")
        let run = try Harness.dmypy(.ours, ["run", "--", "a.py", "b.py"], in: dir)
        #expect(run.status == 1 && run.stdout.hasPrefix("Daemon started\n"), "\(run)")
        #expect(try Harness.statusFilePID(dir) != other.pid)
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
        #expect(kill(other.pid, 0) == 0)
    }

    @Test func killedEngineIsRestartedAndTheAnswerIsStillRight() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        let first = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        let verbose = try Harness.verboseStatus(dir)
        let engine = try #require(verbose["engine_pid"].flatMap { Int32($0) }, "\(verbose)")
        kill(engine, SIGKILL)
        let second = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        #expect(second == first, "after the engine was killed:\n\(second)\nbefore:\n\(first)")
        let recheck = try Harness.dmypy(.ours, ["recheck"], in: dir)
        #expect(recheck.status == 1 && !recheck.stderr.contains("crashed"), "\(recheck)")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    /// The status file's disk is full (a 16 KiB tmpfs, filled, in a private mount namespace):
    /// `start` says why and exits 2, no half-written or temporary file is left, no daemon lingers.
    @Test(.enabled(if: SystemdSandbox.unshare != nil && SystemdSandbox.mountNamespacesArePermitted,
                   "needs unshare and mount namespaces"))
    func fullDiskUnderTheStatusFileIsExplainedAndLeavesNothing() throws {
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        let full = dir.appendingPathComponent("full")
        try FileManager.default.createDirectory(at: full, withIntermediateDirectories: true)
        let script = #"""
            mount -t tmpfs -o size=16k tmpfs "$1" || exit 99
            head -c 1048576 /dev/zero > "$1/filler" 2>/dev/null
            "$2" --status-file "$1/dmypy.json" start -- a.py
            echo "exit=$?"
            ls -A "$1"
            """#
        let result = try SystemdSandbox.runScript(script, [full.path, Harness.ours], unshare: SystemdSandbox.privateMountNamespace, in: dir)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines == ["exit=2", "filler"], "\(result)")
        #expect(result.stderr.contains("could not write the status file \(full.path)/dmypy.json"), "\(result)")
        #expect(result.stderr.contains("No space left on device"), "\(result)")
        Harness.expectNoProcessesLeft(in: dir)
    }

    /// A read-only project (a read-only bind mount, in a private mount namespace): `start` cannot
    /// write `.dmypy.json` there and says why; with `--status-file` elsewhere the daemon checks it
    /// as a fresh mypy run does, since nothing else is written in the project.
    @Test(.enabled(if: SystemdSandbox.unshare != nil && SystemdSandbox.mountNamespacesArePermitted,
                   "needs unshare and mount namespaces"))
    func readOnlyProjectIsCheckedWithAStatusFileElsewhere() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        let statusFile = NSTemporaryDirectory() + "dmypy-status-\(UUID().uuidString.prefix(8)).json"
        defer { Harness.cleanUp(dir, statusFiles: [statusFile]); unlink(statusFile) }
        let script = #"""
            mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 99
            cd "$1" || exit 98
            "$2" start -- a.py b.py
            echo "start=$?"
            "$2" --status-file "$3" run -- a.py b.py
            echo "run=$?"
            "$2" --status-file "$3" stop
            echo "stop=$?"
            ls -A
            """#
        let result = try SystemdSandbox.runScript(script, [dir.path, Harness.ours, statusFile], unshare: SystemdSandbox.privateMountNamespace, in: dir)
        let fresh = try Harness.freshMypy(["a.py", "b.py"], in: dir)
        let expected = ["start=2", "Daemon started"] + fresh.stdout.split(separator: "\n").map(String.init)
            + ["run=\(fresh.status)", "Daemon stopped", "stop=0"] + sampleProject.keys.sorted()
        #expect(result.stdout.split(separator: "\n").map(String.init) == expected, "\(result)")
        #expect(result.stderr.contains("dmypy: could not write the status file .dmypy.json: "), "\(result)")
        #expect(result.stderr.contains("Read-only file system"), "\(result)")
        Harness.expectNoProcessesLeft(in: dir)
    }

    @Test func missingMypyIsExplained() throws {
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        // A real interpreter without mypy, alone on PATH.
        let bin = dir.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let system = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let python = try #require(system)
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("python3").path, withDestinationPath: python)
        let result = try Harness.dmypy(.ours, ["start"], in: dir, env: ["DMYPY_PYTHON": "", "PATH": bin.path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("no Python interpreter that can import mypy was found"), "\(result)")
        #expect(result.stderr.contains(".venv/bin/python: not found"))
        #expect(result.stderr.contains("\(bin.path)/python3: ModuleNotFoundError"), "\(result)")
        // The daemon that could not start has exited: nothing is left serving nobody.
        Harness.expectNoProcessesLeft(in: dir)
    }
}
