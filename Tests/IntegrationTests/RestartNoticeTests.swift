import Foundation
import Testing

/// Our daemon restarts its engine by itself when mypy's options or a plugin change; the next
/// `run` prints what mypy's `dmypy run` prints when it restarts its daemon for that reason, and
/// `check` prints nothing of it. Compared with mypy's own dmypy, byte for byte, log file included.
@Suite(.serialized) struct RestartNoticeTests {
    static let project: [String: String] = [
        "a.py": "def f(x):\n    return x\n\ny: int = 'no'\n",
        "mypy.ini": "[mypy]\n",
    ]

    @Test func optionChangedInMypyIni() throws {
        try SideBySide.run(Self.project, [
            .dmypy(["run", "--log-file", "daemon.log", "--", "a.py"]),
            .write("mypy.ini", "[mypy]\ndisallow_untyped_defs = True\n"),
            .dmypy(["run", "--log-file", "daemon.log", "--", "a.py"]),
            .dmypy(["run", "--log-file", "daemon.log", "--", "a.py"]),
            .write("mypy.ini", "[mypy]\n# only a comment: the options are the same\ndisallow_untyped_defs = True\n"),
            .dmypy(["run", "--log-file", "daemon.log", "--", "a.py"]),
            .dmypy(["stop"]),
        ], sameFiles: ["daemon.log"])
    }

    @Test func optionChangedInPyproject() throws {
        try SideBySide.run(["a.py": Self.project["a.py"]!, "pyproject.toml": "[tool.mypy]\n"], [
            .dmypy(["run", "--", "a.py"]),
            .write("pyproject.toml", "[tool.mypy]\ndisallow_untyped_defs = true\n"),
            .dmypy(["run", "--", "a.py"]),
            .dmypy(["stop"]),
        ])
    }

    /// A `check` in between prints no restart lines (and, as documented, already uses the new
    /// options, where mypy's `check` keeps the old ones); the `run` after it still says it.
    @Test func checkPrintsNoRestartLinesAndTheNextRunDoes() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(Self.project)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["run", "--", "a.py"], in: dir).status == 1)
        try Harness.write(dir, "mypy.ini", "[mypy]\ndisallow_untyped_defs = True\n")
        let check = try Harness.dmypy(.ours, ["check", "a.py"], in: dir)
        let fresh = try Harness.freshMypy(["a.py"], in: dir)
        #expect(check == fresh, "check:\n\(check)\nfresh mypy:\n\(fresh)")
        let run = try Harness.dmypy(.ours, ["run", "--", "a.py"], in: dir)
        #expect(run.stdout == "Restarting: configuration changed\nDaemon stopped\nDaemon started\n" + fresh.stdout, "\(run)")
        #expect(try Harness.dmypy(.ours, ["run", "--", "a.py"], in: dir) == fresh)
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
    }

    @Test func prettyToggledOnTheCommandLine() throws {
        try SideBySide.run(Self.project, [
            .dmypy(["run", "--", "a.py"]),
            .dmypy(["run", "--", "--pretty", "a.py"]),
            .dmypy(["run", "--", "a.py"]),
            .dmypy(["stop"]),
        ])
    }

    @Test func pluginVersionBumped() throws {
        let plugin = { (version: String) in
            "from mypy.plugin import Plugin\n__version__ = '\(version)'\n\nclass P(Plugin):\n    pass\n\ndef plugin(version: str) -> type[Plugin]:\n    return P\n"
        }
        try SideBySide.run(["a.py": Self.project["a.py"]!, "plug.py": plugin("1"), "mypy.ini": "[mypy]\nplugins = plug.py\n"], [
            .dmypy(["run", "--", "a.py"]),
            .write("plug.py", plugin("2.0")),
            .dmypy(["run", "--", "a.py"]),
            .dmypy(["run", "--", "a.py"]),
            .dmypy(["stop"]),
        ])
    }

    @Test func globOfFilesChanged() throws {
        try SideBySide.run(["src/a.py": "x: int = 1\n", "mypy.ini": "[mypy]\nfiles = src/a*.py\n"], [
            .dmypy(["run"]),
            .write("src/ab.py", "y: int = 's'\n"),
            .dmypy(["run"]),
            .write("mypy.ini", "[mypy]\nfiles = src/*.py\n"),
            .dmypy(["run"]),
            .dmypy(["stop"]),
        ])
    }

    /// A clean run writes nothing in mypy's log file; with mypy's -v it does, and so does ours.
    @Test func verboseLogFileHasMypysLines() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(["a.py": "x: int = 1\n"])
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start", "--log-file", "daemon.log", "--", "-v"], in: dir).status == 0)
        _ = try Harness.dmypy(.ours, ["check", "a.py"], in: dir)
        #expect(try Harness.dmypy(.ours, ["stop"], in: dir).status == 0)
        let log = (try? String(contentsOf: dir.appendingPathComponent("daemon.log"), encoding: .utf8)) ?? ""
        #expect(log.contains("Engine started"), "\(log)")
    }
}
