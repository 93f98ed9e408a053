import Foundation
import Glibc
import Testing

/// Lost file events, an engine that grows past its memory limit, hostile files and a project
/// that disappears: each is survived, and the answers stay those of a fresh mypy run.
@Suite(.serialized) struct ResilienceTests {
    /// The kernel drops events when its queue overflows; the edit made after that is in no event
    /// at all, and the next check must still see it.
    @Test func anOverflowedEventQueueLosesNoEdit() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir).status == 1)
        let daemon = try Harness.statusFilePID(dir)
        let limit = Int((try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 16384

        // With the daemon stopped, nothing reads the queue: fill it past its limit (a file creation
        // queues at least a create and a close-write), then make the edit whose events are dropped.
        try #require(kill(daemon, SIGSTOP) == 0)
        defer { kill(daemon, SIGCONT) }
        for i in 0..<(limit / 2 + 1000) {
            FileManager.default.createFile(atPath: dir.appendingPathComponent("junk_\(i).txt").path, contents: Data("x".utf8))
        }
        try Harness.writeSameSizeKeepingMtime(dir, "b.py", "def f() -> int:\n    return 1234\n")
        #expect(kill(daemon, SIGCONT) == 0)

        let ours = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        let fresh = try Harness.freshMypy(["a.py", "b.py"], in: dir)
        #expect(ours.status == fresh.status && Harness.lines(ours) == Harness.lines(fresh), "ours: \(ours)\nfresh: \(fresh)")
        let fields = try Harness.verboseStatus(dir)
        #expect(Int(fields["watcher_overflows"] ?? "") ?? 0 >= 1, "the queue did overflow: \(fields)")
        #expect(fields["watcher_fallback"] == "None")
        // mypy re-hashed every file and updated only what changed: no crash, no second engine.
        #expect(fields["engine_starts"] == "1" && fields["engine_restarts"] == "0", "\(fields)")
    }

    /// Out of inotify watches for real: the daemon runs in a user namespace whose own watch limit
    /// (`user.max_inotify_watches`, which bounds only that namespace) is one short of what it
    /// needs, so one directory of the build has no watch and the others still send events. It
    /// says so once and names that limit, answers nothing from memory, sees every edit (through
    /// mypy's stat scan, as mypy's daemon does), and mypy does not crash on the recrawls.
    @Test(.enabled(if: SystemdSandbox.unshare != nil && SystemdSandbox.userNamespacesArePermitted,
                   "needs unshare and user namespaces"))
    func runningOutOfInotifyWatchesFallsBackToStatScans() throws {
        try Harness.requireMypy()
        // An error inside a function body: mypy's fine-grained update crashed re-checking it when
        // a recrawl told mypy that every file of the build had changed.
        let dir = try Harness.project(sampleProject.merging(["pkg/__init__.py": "", "pkg/m.py": "def h() -> int:\n    return 'one'\n"]) { $1 })
        defer { Harness.cleanUp(dir) }
        let files = ["a.py", "b.py", "pkg"]

        // How many watches this build needs, from a daemon with the usual limit.
        #expect(try Harness.dmypy(.ours, ["run", "--"] + files, in: dir).status == 1)
        let needed = try #require(Int(try Harness.verboseStatus(dir)["watcher_directories"] ?? ""))
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)

        let log = dir.appendingPathComponent("daemon.log").path
        let script = #"echo "$2" > /proc/sys/user/max_inotify_watches && exec "$1" start --log-file "$3""#
        let started = try SystemdSandbox.runScript(script, [Harness.ours, "\(needed - 1)", log], unshare: SystemdSandbox.userNamespace, in: dir)
        try #require(started.status == 0, "\(started)")

        func expectSameAsFreshMypy(_ step: String) throws {
            let ours = try Harness.dmypy(.ours, ["check"] + files, in: dir)
            let fresh = try Harness.freshMypy(files, in: dir)
            #expect(ours.status == fresh.status && Harness.lines(ours) == Harness.lines(fresh), "\(step)\nours: \(ours)\nfresh: \(fresh)")
        }
        try expectSameAsFreshMypy("first check")
        var fields = try Harness.verboseStatus(dir)
        let reason = fields["watcher_fallback"] ?? ""
        #expect(reason.hasPrefix("Failed to watch '/") && reason.hasSuffix("': the inotify watch limit user.max_inotify_watches (\(needed - 1)) is reached"), "\(fields)")
        #expect(fields["watcher_directories"] == "\(needed - 1)", "\(fields)")

        try Harness.write(dir, "pkg/m.py", "def h() -> int:\n    return 1\n")
        try expectSameAsFreshMypy("edit in pkg/")
        try Harness.write(dir, "b.py", "def f() -> int:\n    return 12345\n")
        try expectSameAsFreshMypy("edit of b.py")
        try expectSameAsFreshMypy("the same check again")

        fields = try Harness.verboseStatus(dir)
        #expect(Int(fields["pre_checks"] ?? "") ?? 0 >= 1, "the edit of b.py made an event: \(fields)")
        #expect(fields["answered_from_memory"] == "0", "\(fields)")
        #expect(fields["engine_starts"] == "1" && fields["engine_restarts"] == "0", "\(fields)")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(logged.components(separatedBy: "Out of inotify watches").count == 2, "said once: \(logged)")
    }

    /// Past its memory limit the engine is recycled after the check: the answer was already
    /// given, the new engine is warmed with the same build, and the next answers are the same.
    @Test func anEngineOverItsMemoryLimitIsRecycled() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir, env: ["DMYPY_MAX_MEMORY": "1"]).status == 0)
        let first = try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: dir)
        let fresh = try Harness.freshMypy(["a.py", "b.py", "c.py"], in: dir)
        #expect(first.status == fresh.status && Harness.lines(first) == Harness.lines(fresh), "\(first)")
        let fields = try Harness.verboseStatus(dir)
        #expect(fields["engine_restarts"] == "1" && fields["engine_starts"] == "2", "\(fields)")

        // The same question: answered (from memory, the files have not changed) the same.
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: dir) == first)
        try Harness.write(dir, "b.py", "def f() -> int:\n    return 1\n")
        let edited = try Harness.dmypy(.ours, ["check", "a.py", "b.py", "c.py"], in: dir)
        let freshEdited = try Harness.freshMypy(["a.py", "b.py", "c.py"], in: dir)
        #expect(edited.status == freshEdited.status && Harness.lines(edited) == Harness.lines(freshEdited), "\(edited)")

        let other = try Harness.project(["x.py": ""])
        defer { Harness.cleanUp(other) }
        let bad = try Harness.dmypy(.ours, ["start"], in: other, env: ["DMYPY_MAX_MEMORY": "lots"])
        #expect(bad == .init(stdout: "", stderr: "dmypy: DMYPY_MAX_MEMORY must be a number of MiB, not 'lots'\n", status: 2), "\(bad)")
    }

    /// Invalid UTF-8, a syntax error and a symlink loop in the tree, then the whole project deleted.
    @Test func hostileFilesAndADeletedProject() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject.merging(["syntax.py": "def f(:\n    pass\n", "pkg/__init__.py": ""]) { $1 })
        let statusFile = NSTemporaryDirectory() + "dmypy-status-\(UUID().uuidString.prefix(8)).json"
        defer { Harness.cleanUp(dir, statusFiles: [statusFile]); unlink(statusFile) }
        FileManager.default.createFile(atPath: dir.appendingPathComponent("latin.py").path, contents: Data([0x78, 0x20, 0x3D, 0x20, 0x27, 0xE9, 0xFF, 0x27, 0x0A]))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("pkg/loop").path, withDestinationPath: ".")

        // mypy's own daemon, beside ours in the same directory, is the reference (a daemon reports
        // blocking errors without mypy's summary line).
        let theirStatusFile = statusFile + ".mypy"
        defer { _ = try? Harness.dmypy(.mypy, ["--status-file", theirStatusFile, "kill"], in: URL(fileURLWithPath: NSTemporaryDirectory())) }
        #expect(try Harness.dmypy(.mypy, ["--status-file", theirStatusFile, "start"], in: dir).status == 0)
        #expect(try Harness.dmypy(.ours, ["--status-file", statusFile, "start"], in: dir).status == 0)
        for files in [["latin.py"], ["syntax.py"], ["a.py", "pkg"], ["a.py", "latin.py"]] {
            let ours = try Harness.dmypy(.ours, ["--status-file", statusFile, "check"] + files, in: dir)
            let theirs = try Harness.dmypy(.mypy, ["--status-file", theirStatusFile, "check"] + files, in: dir)
            #expect(ours == theirs, "\(files)\nours: \(ours)\nmypy's dmypy: \(theirs)")
        }

        try FileManager.default.removeItem(at: dir)
        let gone = try Harness.dmypy(.ours, ["--status-file", statusFile, "check", "a.py"], in: URL(fileURLWithPath: NSTemporaryDirectory()))
        #expect(gone.status != 0, "\(gone)")
        let alive = try Harness.dmypy(.ours, ["--status-file", statusFile, "status"], in: URL(fileURLWithPath: NSTemporaryDirectory()))
        #expect(alive == .init(stdout: "Daemon is up and running\n", stderr: "", status: 0), "\(alive)")
        #expect(try Harness.dmypy(.ours, ["--status-file", statusFile, "stop"], in: URL(fileURLWithPath: NSTemporaryDirectory())).status == 0)
    }

    /// An aged engine is replaced by a fresh one built in the background: every answer stays
    /// right through the swap, and edits made while the new one warms up are not lost.
    @Test func anAgedEngineIsReplacedWithoutAnyoneWaiting() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir, env: ["DMYPY_RECYCLE_AFTER": "2"]).status == 0)
        let files = ["a.py", "b.py", "c.py"]
        func checkMatchesFreshMypy(_ step: String) throws {
            let ours = try Harness.dmypy(.ours, ["check"] + files, in: dir)
            let fresh = try Harness.freshMypy(files, in: dir)
            #expect(ours.status == fresh.status && Harness.lines(ours) == Harness.lines(fresh), "\(step)\nours: \(ours)\nfresh: \(fresh)")
        }
        try checkMatchesFreshMypy("first")
        let variants = ["def f() -> int:\n    return 1\n", "def f() -> str:\n    return 'hi'\n"]
        for i in 0..<4 {
            try Harness.write(dir, "b.py", variants[i % 2])
            try checkMatchesFreshMypy("edit \(i)")
        }
        // The swap happens once the fresh engine is warm and the old one idle.
        var fields = try Harness.verboseStatus(dir)
        try Harness.eventually(within: 120, every: 0.05) {
            fields = try Harness.verboseStatus(dir)
            return fields.int("engine_recycles") >= 1
        }
        #expect(Int(fields["engine_recycles"] ?? "") ?? 0 >= 1, "\(fields)")
        // The new engine sees a same-size edit made within the same second too.
        try Harness.write(dir, "b.py", "def f() -> str:\n    return 'hi'\n")
        try checkMatchesFreshMypy("before the same-size edit")
        try Harness.writeSameSizeKeepingMtime(dir, "b.py", "def f() -> int:\n    return 1234\n")
        try checkMatchesFreshMypy("same-size edit after the swap")
        #expect(try Harness.verboseStatus(dir)["engine_restarts"] == "0")
    }

    /// mypy's `--timeout`: no request for that long and the daemon exits, even when file changes
    /// kept its engine busy with pre-checks meanwhile.
    @Test func anIdleDaemonTimesOutAfterPreChecks() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start", "--timeout", "2"], in: dir).status == 0)
        let pid = try Harness.statusFilePID(dir)
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir).status == 1)
        for i in 0..<3 {
            try Harness.write(dir, "b.py", i % 2 == 0 ? "def f() -> int:\n    return 1\n" : "def f() -> str:\n    return ''\n")
            usleep(300_000)
        }
        Harness.eventually(every: 0.05) { kill(pid, 0) != 0 }
        #expect(kill(pid, 0) != 0, "the daemon is still running long after its --timeout")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".dmypy.json").path))
    }
}
