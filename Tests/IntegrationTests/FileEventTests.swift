import Foundation
import Glibc
import Testing

/// The daemon reacts to real edits on disk (real inotify, real mypy): after every kind of change,
/// its answer equals a fresh `mypy` run's on the same files.
@Suite(.serialized) struct FileEventTests {
    /// Waits (bounded) until the daemon is idle with at least `preChecks` pre-checks started.
    func waitForPreCheck(_ project: URL, atLeast preChecks: Int) throws -> Harness.Fields {
        var fields = try Harness.verboseStatus(project)
        let done = try Harness.eventually(every: 0.05) {
            fields = try Harness.verboseStatus(project)
            return fields.int("pre_checks") >= preChecks && fields.bool("engine_busy") == false
        }
        if !done { Issue.record("no pre-check finished: \(fields)") }
        return fields
    }

    @Test func sameSizeEditWithinTheSameSecondIsSeen() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir), ["a.py", "b.py"], in: dir, "first check")

        // "str" -> "int", 'hi' -> 1234: same size; then put the old mtime back, so size and whole-second mtime
        // (all that mypy's own daemon looks at) are both unchanged.
        try Harness.writeSameSizeKeepingMtime(dir, "b.py", "def f() -> int:\n    return 1234\n")

        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir), ["a.py", "b.py"], in: dir, "same-size edit")
    }

    /// Every kind of change, one after the other, on one running daemon.
    @Test func everyKindOfChangeMatchesAFreshRun() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        let fm = FileManager.default
        let steps: [(String, () throws -> Void)] = [
            ("edit", { try Harness.write(dir, "b.py", "def f() -> int:\n    return 1\n") }),
            ("create", { try Harness.write(dir, "d.py", "from b import f\nz: str = f()\n") }),
            ("delete", { try fm.removeItem(at: dir.appendingPathComponent("c.py")) }),
            ("rename", { try fm.moveItem(at: dir.appendingPathComponent("d.py"), to: dir.appendingPathComponent("e.py")) }),
            ("atomic save", {
                try Harness.write(dir, ".b.py.tmp1234", "def f() -> str:\n    return 'x'\n")
                try fm.moveItem(at: dir.appendingPathComponent(".b.py.tmp1234"), to: dir.appendingPathComponent("b.py.new"))
                rename(dir.appendingPathComponent("b.py.new").path, dir.appendingPathComponent("b.py").path)
            }),
            ("new package directory", {
                try fm.createDirectory(at: dir.appendingPathComponent("pkg/sub"), withIntermediateDirectories: true)
                try Harness.write(dir, "pkg/__init__.py", "")
                try Harness.write(dir, "pkg/sub/__init__.py", "")
                try Harness.write(dir, "pkg/sub/m.py", "import b\nw: bytes = b.f()\n")
            }),
            ("config change", { try Harness.write(dir, "mypy.ini", "[mypy]\ndisallow_untyped_defs = True\n") }),
            ("config removed", { try fm.removeItem(at: dir.appendingPathComponent("mypy.ini")) }),
            ("500-file burst", {
                try fm.createDirectory(at: dir.appendingPathComponent("many"), withIntermediateDirectories: true)
                for i in 0..<500 {
                    let body = i % 50 == 0 ? "import b\nv\(i): int = b.f()\n" : "def h\(i)(n: int) -> int:\n    return n + \(i)\n"
                    try Harness.write(dir, "many/m\(i).py", body)
                }
            }),
            ("directory removed", { try fm.removeItem(at: dir.appendingPathComponent("pkg")) }),
        ]
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "."], in: dir), ["."], in: dir, "first check")
        for (name, change) in steps {
            try change()
            try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "."], in: dir), ["."], in: dir, name)
        }
        let fields = try Harness.verboseStatus(dir)
        #expect(fields["watcher_fallback"] == "None")
        #expect(Int(fields["engine_restarts"] ?? "") ?? 0 >= 2, "config changes restart the engine: \(fields)")
    }

    /// An edit is checked before anyone asks: the next check is answered from memory, and an
    /// unchanged project is never checked twice.
    @Test func editsArePreCheckedAndUnchangedChecksAnsweredFromMemory() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        let first = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        // The first build read files before they were watched: its answer is confirmed by one
        // more check (a pre-check) before anything is answered from memory.
        var fields = try waitForPreCheck(dir, atLeast: 1)
        #expect(try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir) == first)
        fields = try Harness.verboseStatus(dir)
        #expect(fields["answered_from_memory"] == "1", "\(fields)")
        #expect(fields["engine_starts"] == "1")

        // b is imported by a: both are stale after the edit, until the pre-check has run.
        try Harness.write(dir, "b.py", "def f() -> int:\n    return 1\n")
        fields = try waitForPreCheck(dir, atLeast: 2)
        #expect(fields["last_update_stale_modules"] == "2", "\(fields)")
        #expect(fields["graph_stale_modules"] == "0", "\(fields)")

        let afterEdit = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        try Harness.expectSameAsFreshMypy(afterEdit, ["a.py", "b.py"], in: dir, "edit, pre-checked")
        #expect(try Harness.verboseStatus(dir)["answered_from_memory"] == "2", "the pre-check's answer was used")

        // A recheck is mypy's own (it prints differently from a check), then answered from memory.
        let recheck = try Harness.dmypy(.ours, ["recheck"], in: dir)
        #expect(try Harness.dmypy(.ours, ["recheck"], in: dir) == recheck)
        #expect(try Harness.verboseStatus(dir)["answered_from_memory"] == "3")
    }

    /// A branch switch changes most of the project at once: it settles, then the daemon builds
    /// afresh instead of updating module by module, and answers as a fresh run does.
    @Test func branchSwitchRebuildsAndMatchesAFreshRun() throws {
        try Harness.requireMypy()
        var files = ["base.py": "def value() -> int:\n    return 1\n"]
        for i in 0..<30 { files["m\(i).py"] = "import base\nx\(i): int = base.value()\n" }
        let dir = try Harness.project(files)
        defer { Harness.cleanUp(dir) }
        func git(_ arguments: [String]) throws {
            let result = try Harness.run(executable: "/usr/bin/env", arguments: ["git", "-c", "user.name=t", "-c", "user.email=t@t"] + arguments,
                                         in: dir, env: Harness.environment(), timeout: 60)
            #expect(result.status == 0, "git \(arguments): \(result)")
        }
        try git(["init", "-q", "-b", "main"])
        try git(["add", "."])
        try git(["commit", "-q", "-m", "one"])
        try git(["checkout", "-q", "-b", "other"])
        try Harness.write(dir, "base.py", "def value() -> str:\n    return ''\n")
        for i in 0..<30 { try Harness.write(dir, "m\(i).py", "import base\ny\(i): bytes = base.value()\n") }
        try git(["commit", "-q", "-am", "two"])

        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "."], in: dir), ["."], in: dir, "on branch other")
        try git(["checkout", "-q", "main"])
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "."], in: dir), ["."], in: dir, "after switching to main")
        #expect(try Harness.verboseStatus(dir)["engine_restarts"] == "1", "most of the project changed: a rebuild")
    }

    /// pyproject.toml is also where a project's name and dependencies live: an edit that leaves
    /// mypy's options as they were keeps the engine and its build; one that changes them restarts it.
    @Test func configEditsRestartOnlyWhenMypysOptionsChange() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject.merging(["pyproject.toml": "[project]\nname = \"p\"\nversion = \"1\"\n"]) { $1 })
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "a.py", "c.py"], in: dir), ["a.py", "c.py"], in: dir, "first")

        try Harness.write(dir, "pyproject.toml", "[project]\nname = \"p\"\nversion = \"2\"\n")
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "a.py", "c.py"], in: dir), ["a.py", "c.py"], in: dir, "version bump")
        var fields = try Harness.verboseStatus(dir)
        #expect(fields["engine_restarts"] == "0" && fields["engine_starts"] == "1", "\(fields)")

        try Harness.write(dir, "pyproject.toml", "[project]\nname = \"p\"\nversion = \"2\"\n\n[tool.mypy]\ndisallow_untyped_defs = true\n")
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "a.py", "c.py"], in: dir), ["a.py", "c.py"], in: dir, "[tool.mypy] added")
        fields = try Harness.verboseStatus(dir)
        #expect(fields["engine_restarts"] == "1" && fields["engine_starts"] == "2", "\(fields)")
    }

    /// An editor checks one file; the package it imports does not exist yet, and is created a
    /// directory first, its files a moment later (after the daemon has seen the directory). Our
    /// answers equal mypy's own dmypy's on a copy going through the same steps.
    @Test func aPackageCreatedForAMissingImportIsSeenWhenOneFileIsChecked() throws {
        try Harness.requireMypy()
        let ours = try Harness.project(["main.py": "from newpkg.mod import value\nx: int = value\n"])
        let theirs = try Harness.copy(ours)
        defer {
            _ = try? Harness.dmypy(.mypy, ["kill"], in: theirs)
            Harness.cleanUp(ours)
            Harness.cleanUp(theirs)
        }
        #expect(try Harness.dmypy(.ours, ["start"], in: ours).status == 0)
        #expect(try Harness.dmypy(.mypy, ["start"], in: theirs).status == 0)
        #expect(try Harness.dmypy(.ours, ["check", "main.py"], in: ours) == Harness.dmypy(.mypy, ["check", "main.py"], in: theirs))
        for dir in [ours, theirs] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("newpkg"), withIntermediateDirectories: false)
        }
        _ = try waitForPreCheck(ours, atLeast: 1)
        for dir in [ours, theirs] {
            try Harness.write(dir, "newpkg/__init__.py", "")
            try Harness.write(dir, "newpkg/mod.py", "value = 'a string'\n")
        }
        let after = try Harness.dmypy(.ours, ["check", "main.py"], in: ours)
        let mypys = try Harness.dmypy(.mypy, ["check", "main.py"], in: theirs)
        #expect(after == mypys, "ours: \(after)\nmypy's: \(mypys)\nours, status -v:\n\((try? Harness.verboseStatus(ours)).map { "\($0)" } ?? "none")")
        #expect(after.stdout.contains("Incompatible types in assignment"), "\(after)")
    }
}
