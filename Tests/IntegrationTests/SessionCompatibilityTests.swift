import Foundation
import Testing

/// The same session of commands and edits, run with mypy's own dmypy and with ours on identical
/// copies of a project: every step's stdout, stderr and exit status must be byte-identical.
@Suite(.serialized) struct SessionCompatibilityTests {
    enum Step {
        case dmypy([String])
        case write(String, String)
    }

    static let session: [Step] = [
        .dmypy(["status"]),
        .dmypy(["check", "a.py"]),
        .dmypy(["stop"]),
        .dmypy(["kill"]),
        .dmypy(["run", "--", "a.py", "b.py"]),
        .dmypy(["check", "a.py", "b.py"]),
        .dmypy(["status"]),
        .write("b.py", "def f() -> int:\n    return 1\n"),
        .dmypy(["check", "a.py", "b.py"]),
        .write("b.py", "def f() -> bytes:\n    return b''\n"),
        .dmypy(["recheck"]),
        .dmypy(["check", "a.py", "b.py", "c.py"]),
        .dmypy(["suggest", "c.unannotated"]),
        .dmypy(["suggest", "--callsites", "c.unannotated"]),
        .dmypy(["suggest", "nosuchmodule.f"]),
        .dmypy(["inspect", "a.py:2:10"]),
        .dmypy(["inspect", "--show", "definition", "a.py:2:10"]),
        .dmypy(["check", "missing.py"]),
        .dmypy(["start"]),
        .dmypy(["run", "--", "--disallow-untyped-defs", "a.py", "c.py"]),
        .dmypy(["run", "--", "--disallow-untyped-defs", "a.py", "c.py"]),
        .dmypy(["check", "-v", "--junit-xml", "junit.xml", "a.py"]),
        .dmypy(["stop"]),
        .dmypy(["status"]),
        .dmypy(["start", "--", "--follow-imports=silent"]),
        .dmypy(["start", "--", "--no-such-flag"]),
        .dmypy(["start", "--", "--follow-imports=error"]),
        .dmypy(["restart", "--", "--follow-imports=skip"]),
        .dmypy(["check", "a.py"]),
        .dmypy(["stop"]),
    ]

    /// Lines whose content is a measurement (timings, memory, pids), compared by key only.
    static func normalize(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.contains(":"), let key = line.split(separator: ":").first,
               key.count == 24 || line.hasPrefix("roundtrip_time") || line.hasPrefix("stats") {
                return String(key).trimmingCharacters(in: .whitespaces) + ": <value>"
            }
            return String(line)
        }.joined(separator: "\n")
    }

    /// As mypy's daemon removes the temporary directory of its socket, ours removes that
    /// directory at `stop`, with the engine's modules it wrote there (a directory per daemon
    /// start was left behind in /tmp when some of them were not).
    @Test func stopLeavesNothingBehindInTheTemporaryDirectory() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(["a.py": "x: int = 1\n"])
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["run", "--", "a.py"], in: dir).status == 0)
        let socketDirectory = (try Harness.statusConnectionName(dir) as NSString).deletingLastPathComponent
        let written = try FileManager.default.contentsOfDirectory(atPath: socketDirectory)
        #expect(written.contains("dmypy.sock") && written.contains("dmypy_engine_adapter.py"), "\(written)")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
        let gone = Harness.eventually(within: 30) { !FileManager.default.fileExists(atPath: socketDirectory) }
        #expect(gone, "left behind: \((try? FileManager.default.contentsOfDirectory(atPath: socketDirectory)) ?? [])")
    }

    @Test func sameSessionSameBytes() throws {
        try Harness.requireMypy()
        let base = try Harness.project(sampleProject)
        let theirs = try Harness.copy(base)
        let ours = try Harness.copy(base)
        defer {
            Harness.cleanUp(theirs)
            Harness.cleanUp(ours)
            try? FileManager.default.removeItem(at: base)
        }
        for (index, step) in Self.session.enumerated() {
            switch step {
            case .write(let name, let content):
                try Harness.write(theirs, name, content)
                try Harness.write(ours, name, content)
            case .dmypy(let arguments):
                let expected = try Harness.dmypy(.mypy, arguments, in: theirs)
                let actual = try Harness.dmypy(.ours, arguments, in: ours)
                let verbose = arguments.contains("-v")
                if verbose {
                    // Keys and statuses match; values are measurements.
                    #expect(actual.status == expected.status, "step \(index) dmypy \(arguments)")
                    #expect(actual.stdout.contains("out                     :") == expected.stdout.contains("out                     :"))
                } else {
                    #expect(actual == expected, "step \(index): dmypy \(arguments.joined(separator: " "))\nmypy:\n\(expected)\nours:\n\(actual)")
                }
            }
        }
        let junitTheirs = try String(contentsOf: theirs.appendingPathComponent("junit.xml"), encoding: .utf8)
        let junitOurs = try String(contentsOf: ours.appendingPathComponent("junit.xml"), encoding: .utf8)
        let time = try NSRegularExpression(pattern: #"time="[0-9.]+""#)
        func strip(_ s: String) -> String { time.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: "time=\"T\"") }
        #expect(strip(junitOurs) == strip(junitTheirs))
    }

    /// mypy's daemon dies on an assertion for `recheck --update` in follow_imports=normal (its
    /// default); ours answers with a clear error and keeps serving. A documented difference.
    @Test func recheckUpdateWithFollowImportsNormalIsAClearError() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["run", "--", "a.py", "b.py"], in: dir).status == 1)
        let result = try Harness.dmypy(.ours, ["recheck", "--update", "b.py"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderr.contains("recheck --update/--remove cannot be used with follow_imports=normal"), "\(result)")
        #expect(try Harness.dmypy(.ours, ["status"], in: dir).stdout == "Daemon is up and running\n")
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    /// Commands outside a session: help, version, usage errors.
    @Test(arguments: [
        [], ["help"], ["--help"], ["check"], ["check", "--help"], ["run", "--help"], ["bogus"],
        ["inspect", "--show", "nope", "a.py:1:1"], ["status", "--timeout", "1"], ["suggest"],
    ])
    func sameTextForCommandLineErrors(_ arguments: [String]) throws {
        try Harness.requireMypy()
        let dir = try Harness.project(["a.py": "x = 1\n"])
        defer { Harness.cleanUp(dir) }
        let expected = try Harness.dmypy(.mypy, arguments, in: dir)
        let actual = try Harness.dmypy(.ours, arguments, in: dir)
        #expect(actual == expected, "dmypy \(arguments)\nmypy:\n\(expected)\nours:\n\(actual)")
    }

    @Test func versionNamesMypyThenUs() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(["a.py": "x = 1\n"])
        defer { Harness.cleanUp(dir) }
        let theirs = try Harness.dmypy(.mypy, ["--version"], in: dir)
        let ours = try Harness.dmypy(.ours, ["--version"], in: dir)
        let mypyVersion = theirs.stdout.split(separator: " ")[1].trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(ours.status == 0)
        #expect(ours.stdout.hasPrefix("dmypy \(mypyVersion) (dmypy-swift "), "\(ours)")
    }
}
