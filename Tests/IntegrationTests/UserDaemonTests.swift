import Foundation
import Glibc
import Testing

/// The user daemon: started with a socket passed by socket activation (LISTEN_FDS, through
/// systemd's own `systemd-socket-activate`), found by the client at `$XDG_RUNTIME_DIR/dmypy.sock`,
/// serving each project directory in its own workspace with its own options.
/// (SystemdTests run the same against a real `systemd --user`.)
@Suite(.serialized) struct UserDaemonTests {
    struct UserDaemon {
        let runtime: URL
        let activator: Harness.Running
        var env: [String: String] { ["XDG_RUNTIME_DIR": runtime.path] }

        func stop() {
            if !activator.hasEnded { kill(activator.pid, SIGTERM) }
            _ = try? Harness.collect(activator, timeout: 30)
            try? FileManager.default.removeItem(at: runtime)
        }
    }

    func startUserDaemon(timeout: Int) throws -> UserDaemon {
        let runtime = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dmypy-rt-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: runtime, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let socket = runtime.appendingPathComponent("dmypy.sock").path
        let activator = try Harness.spawn(executable: "/usr/bin/systemd-socket-activate",
                                          arguments: ["-l", socket, Harness.ours, "daemon", "--timeout", String(timeout)],
                                          in: runtime, env: Harness.environment())
        Harness.eventually(within: 30) { FileManager.default.fileExists(atPath: socket) }
        return UserDaemon(runtime: runtime, activator: activator)
    }

    func field(_ name: String, _ result: Harness.Result) -> String? { Harness.fields(result)[name] }

    @Test func projectsGetTheirOwnWorkspacesInOneDaemon() throws {
        try Harness.requireMypy()
        let daemon = try startUserDaemon(timeout: 600)
        defer { daemon.stop() }
        let a = try Harness.project(sampleProject)
        let b = try Harness.project(sampleProject)
        defer { Harness.cleanUp(a); Harness.cleanUp(b) }

        // What mypy's own dmypy prints for these, each in a project of its own.
        let reference = try Harness.copy(a)
        defer { Harness.cleanUp(reference) }
        func mypyCheck(_ flags: [String]) throws -> Harness.Result {
            #expect(try Harness.dmypy(.mypy, ["start", "--"] + flags, in: reference).status == 0)
            defer { _ = try? Harness.dmypy(.mypy, ["stop"], in: reference) }
            return try Harness.dmypy(.mypy, ["check", "a.py", "b.py", "c.py"], in: reference)
        }
        let theirs = try mypyCheck([])
        let theirsStrict = try mypyCheck(["--disallow-untyped-defs"])
        #expect(theirs != theirsStrict)

        // A's first check opens its workspace with the project's own configuration.
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: a, env: daemon.env) == theirs)
        #expect(!FileManager.default.fileExists(atPath: a.appendingPathComponent(".dmypy.json").path), "no per-project daemon")

        // B starts with options of its own, in the same daemon.
        #expect(try Harness.dmypy(.ours, ["start", "--", "--disallow-untyped-defs"], in: b, env: daemon.env)
                == .init(stdout: "Daemon started\n", stderr: "", status: 0))
        #expect(try Harness.dmypy(.ours, ["start"], in: b, env: daemon.env)
                == .init(stdout: "", stderr: "Daemon is still alive\n", status: 2))
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: b, env: daemon.env) == theirsStrict)
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: a, env: daemon.env) == theirs)
        let statusA = try Harness.dmypy(.ours, ["status", "-v"], in: a, env: daemon.env)
        let statusB = try Harness.dmypy(.ours, ["status", "-v"], in: b, env: daemon.env)
        #expect(field("pid", statusA) == field("pid", statusB) && field("pid", statusA) != nil)
        #expect(field("engine_pid", statusA) != field("engine_pid", statusB))
        #expect(field("workspaces", statusA) == "2")

        // Stop closes A's workspace only; A's next check opens it again.
        #expect(try Harness.dmypy(.ours, ["stop"], in: a, env: daemon.env) == .init(stdout: "Daemon stopped\n", stderr: "", status: 0))
        #expect(try Harness.dmypy(.ours, ["stop"], in: a, env: daemon.env).status == 2)
        #expect(field("workspaces", try Harness.dmypy(.ours, ["status", "-v"], in: b, env: daemon.env)) == "1")
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: a, env: daemon.env) == theirs)

        // `run` with other options restarts the workspace, as mypy's run restarts its daemon.
        let run = try Harness.dmypy(.ours, ["run", "--", "--disallow-untyped-defs", "a.py", "b.py", "c.py"], in: a, env: daemon.env)
        #expect(run.stdout.hasPrefix("Restarting: configuration changed\nDaemon stopped\nDaemon started\n"), "\(run)")
        #expect(run.stdout.hasSuffix(theirsStrict.stdout) && run.status == theirsStrict.status, "\(run)")

        // Bad options: mypy's own error, and no workspace stays behind.
        let bad = try Harness.dmypy(.ours, ["restart", "--", "--no-such-flag"], in: b, env: daemon.env)
        #expect(bad.status == 2 && bad.stderr.contains("unrecognized arguments: --no-such-flag"), "\(bad)")
        #expect(field("workspace", try Harness.dmypy(.ours, ["status", "-v"], in: b, env: daemon.env)) == "None")
    }

    @Test func idleWorkspacesCloseAndThenTheDaemonExits() throws {
        try Harness.requireMypy()
        let daemon = try startUserDaemon(timeout: 2)
        defer { daemon.stop() }
        let a = try Harness.project(sampleProject)
        defer { Harness.cleanUp(a) }
        #expect(try Harness.dmypy(.ours, ["check", "a.py"], in: a, env: daemon.env).status == 1)
        let pid = try #require(field("pid", try Harness.dmypy(.ours, ["status", "-v"], in: a, env: daemon.env)).flatMap { Int32($0) })
        let ended = try Harness.collect(daemon.activator, timeout: 120)
        #expect(ended.status == 0, "the daemon exits cleanly when idle: \(ended)")
        #expect(ended.stderr.contains("Workspace closed"), "\(ended.stderr)")
        #expect(kill(pid, 0) != 0)
    }

    /// The event loop never waits: while one workspace's engine restarts with an interpreter that
    /// takes two seconds to start (the engine started under it is the probe, on the loop), that workspace's
    /// `status` and another workspace's `check` are answered before the slow interpreter is done.
    @Test func aSlowInterpreterStallsNobody() throws {
        try Harness.requireMypy()
        let daemon = try startUserDaemon(timeout: 600)
        defer { daemon.stop() }
        let a = try Harness.project(["a.py": "def f(x):\n    return x\n", "mypy.ini": "[mypy]\n"])
        let b = try Harness.project(sampleProject)
        let markers = try Harness.project([:])
        defer { Harness.cleanUp(a); Harness.cleanUp(b); Harness.cleanUp(markers) }
        try FileManager.default.createDirectory(at: markers, withIntermediateDirectories: true)
        let slowPython = markers.appendingPathComponent("slowpython").path
        try """
        #!/bin/sh
        if [ -e "\(markers.path)/slow" ]; then
            touch "\(markers.path)/started-$$"; sleep 2; touch "\(markers.path)/slept-$$"
        fi
        exec "\(Harness.python)" "$@"

        """.write(toFile: slowPython, atomically: true, encoding: .utf8)
        chmod(slowPython, 0o755)
        var envA = daemon.env
        envA["DMYPY_PYTHON"] = slowPython

        let fresh = try Harness.dmypy(.ours, ["check", "a.py"], in: a, env: envA)
        #expect(fresh.status == 0, "\(fresh)")
        let expectedB = try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: b, env: daemon.env)
        #expect(expectedB.status == 1, "\(expectedB)")

        // From now on the interpreter is slow; a changed option restarts A's engine through it.
        _ = FileManager.default.createFile(atPath: markers.appendingPathComponent("slow").path, contents: nil)
        try Harness.write(a, "mypy.ini", "[mypy]\ndisallow_untyped_defs = True\n")
        func entries(_ prefix: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: markers.path)) ?? []).filter { $0.hasPrefix(prefix) }
        }
        Harness.eventually { !entries("started-").isEmpty }
        try #require(!entries("started-").isEmpty, "the engine was never restarted through the slow interpreter")

        let status = try Harness.dmypy(.ours, ["status", "-v"], in: a, env: envA)
        let stalledStatus = !entries("slept-").isEmpty
        // --export-types: a request of its own, answered by the engine rather than from memory.
        let checkB = try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py", "--export-types"], in: b, env: daemon.env)
        let stalledCheck = !entries("slept-").isEmpty
        #expect(status.status == 0 && !stalledStatus, "status waited for the slow interpreter: \(status)")
        #expect(Harness.fields(status)["engine_state"] == "starting", "\(status)")
        #expect(checkB.stdout == expectedB.stdout && !stalledCheck, "another workspace's check waited: \(checkB)")

        // And A, once its engine is up, answers with the new option.
        let after = try Harness.dmypy(.ours, ["check", "a.py"], in: a, env: envA)
        #expect(after.stdout.contains("Function is missing a type annotation"), "\(after)")
    }
}
