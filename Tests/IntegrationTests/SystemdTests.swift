import Foundation
import Glibc
import Testing

/// One user daemon serving many projects, end to end, under a real `systemd --user` (see
/// SystemdSandbox): our units, socket activation on the first `dmypy check`, one daemon process
/// for two projects with different options, its status and journal, `stop` of one workspace, exit
/// when idle, and no request lost when systemd's daemon is killed.
@Suite(.serialized) struct SystemdTests {
    /// How long (seconds) the daemon waits with every workspace idle before it exits, in the
    /// installed service. Short, so that the idle step is quick. Steps 2 to 6 follow each other
    /// with no pause, so the daemon stays up through them (when one of them fails after a bounded
    /// wait, the daemon may go idle meanwhile and a later "same MainPID" fail too: read the first
    /// failure first). No assertion is about time: every wait is a bounded poll.
    static let idleTimeout = 5

    /// Our units, as a user installs them: `@BINDIR@` is the built binary's directory; the service
    /// also names the test's Python (clients send their environment too; this is for safety).
    static func units() throws -> [String: String] {
        let systemd = Harness.root.appendingPathComponent("systemd")
        let socket = try String(contentsOf: systemd.appendingPathComponent("dmypy.socket"), encoding: .utf8)
        var service = try String(contentsOf: systemd.appendingPathComponent("dmypy.service.in"), encoding: .utf8)
        let binary = URL(fileURLWithPath: Harness.ours).resolvingSymlinksInPath()
        service = service.replacingOccurrences(of: "@BINDIR@", with: binary.deletingLastPathComponent().path)
        #expect(service.contains("--timeout 3600"), "the service template changed: \(service)")
        service = service.replacingOccurrences(of: "--timeout 3600", with: "--timeout \(idleTimeout)")
        service = service.replacingOccurrences(of: "[Service]\n", with: "[Service]\nEnvironment=DMYPY_PYTHON=\(Harness.python)\n")
        return ["dmypy.socket": socket, "dmypy.service": service]
    }

    /// What mypy's own dmypy prints for each `check` of `checks`, one daemon started with `flags`
    /// on a copy of `project` (so that the copy's paths, not ours, are touched).
    static func mypyChecks(_ project: URL, flags: [String], _ checks: [[String]]) throws -> [Harness.Result] {
        let copy = try Harness.copy(project)
        defer {
            _ = try? Harness.dmypy(.mypy, ["stop"], in: copy, timeout: 60)
            Harness.cleanUp(copy)
        }
        let start = try Harness.dmypy(.mypy, flags.isEmpty ? ["start"] : ["start", "--"] + flags, in: copy)
        try #require(start.status == 0, "mypy's dmypy start: \(start)")
        return try checks.map { try Harness.dmypy(.mypy, ["check"] + $0, in: copy) }
    }

    /// Polls (bounded) until `condition` holds; returns whether it did.
    static func eventually(seconds: Double = 120, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() > deadline { return false }
            usleep(100_000)
        }
    }

    /// Whether `ancestor` is `pid` or one of its ancestors (/proc/<pid>/status PPid).
    static func descends(_ pid: pid_t, from ancestor: pid_t) -> Bool {
        var current = pid
        while current > 1 {
            if current == ancestor { return true }
            guard let status = try? String(contentsOfFile: "/proc/\(current)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("PPid:") }),
                  let parent = pid_t(line.dropFirst("PPid:".count).trimmingCharacters(in: .whitespaces)) else { return false }
            current = parent
        }
        return false
    }

    static func commandLine(_ pid: pid_t) -> String {
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return "\(pid) " + String(decoding: bytes.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    @Test(.enabled(if: SystemdSandbox.mountNamespacesArePermitted,
                   "unshare -m is not permitted here (EPERM: needs root or CAP_SYS_ADMIN), so no private systemd --user can run"))
    func oneSocketActivatedDaemonServesManyProjects() throws {
        try Harness.requireMypy()
        let projectA = try Harness.project(sampleProject)
        let projectB = try Harness.project(sampleProject)
        defer {
            Harness.cleanUp(projectA)
            Harness.cleanUp(projectB)
        }

        // What mypy's own dmypy answers, computed before the sandbox starts (nothing else runs).
        let mypyA = try Self.mypyChecks(projectA, flags: [], [["a.py", "b.py"], ["c.py"]])
        let expectedAB = mypyA[0], expectedAC = mypyA[1]
        let expectedBC = try Self.mypyChecks(projectB, flags: ["--disallow-untyped-defs"], [["c.py"]])[0]
        #expect(expectedAB.status == 1 && expectedAB.stdout.contains("Incompatible types in assignment"), "\(expectedAB)")
        #expect(expectedBC.status == 1 && expectedBC.stdout.contains("[no-untyped-def]"), "\(expectedBC)")
        #expect(expectedAC.status == 0 && !expectedAC.stdout.contains("no-untyped-def"), "\(expectedAC)")

        let sandbox = try SystemdSandbox()
        let cacheHome = try Harness.project([:])
        defer {
            sandbox.tearDown()
            try? FileManager.default.removeItem(at: cacheHome)
        }
        // With the cache slots on: the daemon started again after its idle exit starts warm.
        let clientEnvironment = ["XDG_RUNTIME_DIR": sandbox.runtimeDirectory, "DMYPY_CACHE": "on",
                                 "XDG_CACHE_HOME": cacheHome.path, "DMYPY_CACHE_IDLE_SECONDS": "1"]
        func ours(_ arguments: [String], in project: URL) throws -> Harness.Result {
            try Harness.dmypy(.ours, arguments, in: project, env: clientEnvironment)
        }
        func mainPID() throws -> String { try sandbox.property("dmypy.service", "MainPID") }
        // Evaluated only when an expectation fails.
        func inside() -> String { sandbox.diagnostics() }

        // 1. The socket starts; the service waits for the first request.
        try sandbox.install(Self.units())
        let start = try sandbox.systemctl(["start", "dmypy.socket"])
        try #require(start.status == 0, "systemctl --user start dmypy.socket: \(start)\n\(inside())")
        #expect(try sandbox.state("dmypy.socket") == "active", "\(inside())")
        #expect(try sandbox.state("dmypy.service") == "inactive", "\(inside())")
        #expect(FileManager.default.fileExists(atPath: "\(sandbox.runtimeDirectory)/dmypy.sock"))

        // 2. The first check in A, which has no .dmypy.json (only XDG_RUNTIME_DIR), starts the
        // daemon through the socket and prints what mypy's dmypy prints.
        #expect(!FileManager.default.fileExists(atPath: projectA.appendingPathComponent(".dmypy.json").path))
        let firstAB = try ours(["check", "a.py", "b.py"], in: projectA)
        #expect(firstAB == expectedAB, "first check in A:\n\(firstAB)\nmypy's dmypy:\n\(expectedAB)\n\(inside())")
        #expect(try sandbox.state("dmypy.service") == "active", "\(inside())")
        let daemonPID = try mainPID()
        #expect(daemonPID != "0" && !daemonPID.isEmpty, "MainPID \(daemonPID)")

        // 3. Project B, with its own options, is served by the same daemon process.
        let startB = try ours(["start", "--", "--disallow-untyped-defs"], in: projectB)
        #expect(startB == .init(stdout: "Daemon started\n", stderr: "", status: 0), "start in B: \(startB)\n\(inside())")
        let checkBC = try ours(["check", "c.py"], in: projectB)
        #expect(checkBC == expectedBC, "check c.py in B (--disallow-untyped-defs):\n\(checkBC)\nmypy's dmypy:\n\(expectedBC)")
        let checkAC = try ours(["check", "c.py"], in: projectA)
        #expect(checkAC == expectedAC, "check c.py in A (default options):\n\(checkAC)\nmypy's dmypy:\n\(expectedAC)")
        #expect(checkBC.stdout.contains("[no-untyped-def]") && !checkAC.stdout.contains("no-untyped-def"))
        let pidAfterB = try mainPID()
        #expect(pidAfterB == daemonPID && daemonPID != "0", "MainPID \(daemonPID) after A's check, \(pidAfterB) after B's\n\(inside())")
        // And no daemon of B's own: whatever works in B descends from systemd's daemon.
        let strays = Harness.processes(in: projectB).filter { !Self.descends($0, from: pid_t(daemonPID) ?? 0) }
        #expect(strays.isEmpty, "processes working in B outside systemd's daemon \(daemonPID): \(strays.map { Self.commandLine($0) })")

        // 4. systemd shows the daemon's own status line.
        let status = try sandbox.systemctl(["status", "--full", "dmypy.service"])
        #expect(status.stdout.contains("Status: \"Serving"), "systemctl --user status dmypy.service:\n\(status)")

        // 5. The daemon's log is in the journal (this sandbox's journald does not attach
        // _SYSTEMD_USER_UNIT: the identifier is what finds it).
        var journal = Harness.Result(stdout: "", stderr: "", status: 0)
        let logged = try Self.eventually(seconds: 10) {
            journal = try sandbox.journalctl(["-t", "dmypy", "-o", "cat"])
            return journal.stdout.contains("Daemon ready") && journal.stdout.contains("Workspace opened")
        }
        #expect(logged, "journalctl -t dmypy:\n\(journal)")

        // 6. stop in A closes A's workspace only; the next check in A opens it again.
        let stopA = try ours(["stop"], in: projectA)
        #expect(stopA == .init(stdout: "Daemon stopped\n", stderr: "", status: 0), "stop in A: \(stopA)\n\(inside())")
        let pidAfterStop = try mainPID()
        #expect(pidAfterStop == daemonPID && daemonPID != "0", "MainPID \(daemonPID) before stop in A, \(pidAfterStop) after: it serves B too\n\(inside())")
        let againAB = try ours(["check", "a.py", "b.py"], in: projectA)
        #expect(againAB == expectedAB, "check in A after its stop:\n\(againAB)\nmypy's dmypy:\n\(expectedAB)\n\(inside())")
        let pidAgain = try mainPID()
        #expect(pidAgain == daemonPID && daemonPID != "0", "MainPID \(daemonPID) before, \(pidAgain) after A's workspace was opened again\n\(inside())")

        // 7. Idle: the daemon exits, the socket keeps listening, the next check starts it again.
        var idleState = ""
        let stopped = try Self.eventually {
            idleState = try sandbox.state("dmypy.service")
            return !["active", "activating", "deactivating", "reloading"].contains(idleState)
        }
        #expect(stopped && idleState == "inactive",
                "the service is \(idleState), not inactive, with every workspace idle (--timeout \(Self.idleTimeout))\n\(inside())")
        #expect(try sandbox.state("dmypy.socket") == "active", "\(inside())")
        #expect(FileManager.default.fileExists(atPath: "\(sandbox.runtimeDirectory)/dmypy.sock"))
        let afterIdle = try ours(["check", "a.py", "b.py"], in: projectA)
        #expect(afterIdle == expectedAB, "check in A after the idle exit:\n\(afterIdle)\nmypy's dmypy:\n\(expectedAB)\n\(inside())")
        #expect(try sandbox.state("dmypy.service") == "active", "\(inside())")
        // The daemon waited for A's cache slot to be written before it exited; it loaded it now.
        let warm = Harness.fields(try ours(["status", "-v"], in: projectA))
        #expect(warm["cache_warm_start"] == "True", "after the idle exit: \(warm)\n\(inside())")

        // 8. SIGKILL loses no later request: systemd starts the daemon again for it.
        let killedPID = try mainPID()
        let killed = try sandbox.systemctl(["kill", "-s", "SIGKILL", "dmypy.service"])
        #expect(killed.status == 0, "systemctl --user kill: \(killed)")
        let afterKill = try ours(["check", "a.py", "b.py"], in: projectA)
        #expect(afterKill == expectedAB, "check in A after SIGKILL:\n\(afterKill)\nmypy's dmypy:\n\(expectedAB)\n\(inside())")
        let restartedPID = try mainPID()
        #expect(restartedPID != killedPID && restartedPID != "0" && killedPID != "0", "MainPID \(killedPID) before SIGKILL, \(restartedPID) after\n\(inside())")
        #expect(try sandbox.state("dmypy.socket") == "active", "\(inside())")
    }
}
