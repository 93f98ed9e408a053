import Foundation
import Testing

/// An answer from memory needs positive evidence that nothing it rests on changed: every file mypy
/// looked at (also one that did not parse or did not exist) under a live watch. Each case is real
/// edits on disk, compared step by step with mypy's own dmypy.
@Suite(.serialized) struct EvidenceTests {
    static let blockerFirst: [String: String] = [
        "a.py": "1 1\n",
        "b.py": "def f() -> int:\n    return ''\n",
    ]

    /// The reported bug: a syntax error at the first build left nothing watched, and the edit that
    /// fixed it was never seen.
    @Test(arguments: ["--follow-imports=error", "--follow-imports=skip"])
    func blockerAtTheFirstBuildThenFixed(_ mode: String) throws {
        try SideBySide.run(Self.blockerFirst, [
            .dmypy(["start", "--", mode]),
            .dmypy(["check", "a.py", "b.py"]),
            .write("a.py", "x = 1\n"),
            .dmypy(["check", "a.py", "b.py"]),
            .write("b.py", "def f() -> int:\n    return 1\n"),
            .dmypy(["check", "a.py", "b.py"]),
            .dmypy(["stop"]),
        ])
    }

    @Test(arguments: ["--follow-imports=error", "--follow-imports=skip"])
    func blockerAtTheFirstRunThenFixed(_ mode: String) throws {
        try SideBySide.run(Self.blockerFirst, [
            .dmypy(["run", "--", mode, "a.py", "b.py"]),
            .write("a.py", "x = 1\n"),
            .dmypy(["run", "--", mode, "a.py", "b.py"]),
            .dmypy(["run", "--", mode, "a.py", "b.py"]),
            .dmypy(["stop"]),
        ])
    }

    @Test func blockerIntroducedAndRemovedLater() throws {
        try SideBySide.run(["a.py": "import b\nx: int = b.f()\n", "b.py": "def f() -> str:\n    return ''\n"], [
            .dmypy(["start", "--", "--follow-imports=error"]),
            .dmypy(["check", "a.py", "b.py"]),
            .write("b.py", "def f( -> str:\n    return ''\n"),
            .dmypy(["check", "a.py", "b.py"]),
            .dmypy(["check", "a.py", "b.py"]),
            .write("b.py", "def f() -> int:\n    return 10\n"),   // not the size of the broken one: mypy would miss it
            .dmypy(["check", "a.py", "b.py"]),
            .dmypy(["stop"]),
        ])
    }

    @Test func namedSourceThatAppearsLater() throws {
        try SideBySide.run(["a.py": "x: int = 1\n"], [
            .dmypy(["start", "--", "--follow-imports=error"]),
            .dmypy(["check", "a.py", "later.py"]),
            .dmypy(["check", "a.py", "later.py"]),
            .write("later.py", "y: str = 1\n"),
            .dmypy(["check", "a.py", "later.py"]),
            .dmypy(["stop"]),
        ])
    }

    @Test func directoryWhoseFirstFileAppearsLater() throws {
        try SideBySide.run(["a.py": "x: int = 1\n", "pkg/.keep": ""], [
            .dmypy(["start"]),
            .dmypy(["check", "pkg"]),
            .dmypy(["check", "pkg"]),
            .write("pkg/m.py", "z: bytes = 'no'\n"),
            .dmypy(["check", "pkg"]),
            .write("pkg/sub/n.py", "w: int = 'no'\n"),
            .dmypy(["check", "pkg"]),
            .dmypy(["stop"]),
        ])
    }

    /// Evidence is not an excuse to stop answering from memory: once everything mypy read is
    /// watched, a repeated check is answered without the engine, and an edit is still seen.
    @Test func answersFromMemoryOnceEverythingIsWatched() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(Self.blockerFirst)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start", "--", "--follow-imports=error"], in: dir).status == 0)
        for _ in 0..<3 { _ = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir) }
        let status = try Harness.verboseStatus(dir)
        #expect(status["evidence_complete"] == "True", "\(status)")
        #expect(Int(status["answered_from_memory"] ?? "") ?? 0 >= 1, "\(status)")
        try Harness.write(dir, "a.py", "x = 1\n")
        let after = try Harness.dmypy(.ours, ["check", "a.py", "b.py"], in: dir)
        #expect(after.stdout.contains("b.py:2: error: Incompatible return value type"), "\(after)")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }
}
