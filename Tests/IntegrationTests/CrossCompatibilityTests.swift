import Foundation
import Testing

/// Both directions: mypy's client against our daemon, and our client against mypy's daemon,
/// compared with mypy's client against mypy's daemon.
@Suite(.serialized) struct CrossCompatibilityTests {
    static let steps: [[String]] = [
        ["status"], ["check", "a.py", "b.py"], ["check", "a.py", "b.py"], ["recheck"],
        ["suggest", "b.f"], ["inspect", "a.py:2:10"], ["run", "--", "a.py", "b.py"], ["stop"], ["status"],
    ]

    func session(starter: Harness.Client, client: Harness.Client) throws -> [Harness.Result] {
        let dir = try Harness.project(sampleProject)
        defer { Harness.cleanUp(dir) }
        var results = [try Harness.dmypy(starter, ["start"], in: dir)]
        for step in Self.steps { results.append(try Harness.dmypy(client, step, in: dir)) }
        return results
    }

    /// Each mixed pairing (our daemon with mypy's client, mypy's daemon with our client) prints what
    /// mypy's client and daemon print together.
    @Test(arguments: [(Harness.Client.ours, Harness.Client.mypy), (.mypy, .ours)])
    func mixedPairingMatchesMypyAlone(starter: Harness.Client, client: Harness.Client) throws {
        try Harness.requireMypy()
        let reference = try session(starter: .mypy, client: .mypy)
        let mixed = try session(starter: starter, client: client)
        #expect(mixed.count == reference.count)
        for (i, (expected, actual)) in zip(reference, mixed).enumerated() {
            #expect(actual == expected, "\(starter) daemon, \(client) client, step \(i)\nmypy:\n\(expected)\nmixed:\n\(actual)")
        }
    }

    /// The exact command lines editors run today, replayed against both.
    @Test func editorCommandLines() throws {
        try Harness.requireMypy()
        let base = try Harness.project(sampleProject)
        defer { try? FileManager.default.removeItem(at: base) }
        var transcripts: [[Harness.Result]] = []
        for implementation in [Harness.Client.mypy, .ours] {
            let dir = try Harness.copy(base)
            let statusDir = dir.appendingPathComponent(".vscode.dmypy_status")
            try FileManager.default.createDirectory(at: statusDir, withIntermediateDirectories: true)
            let vscodeStatus = statusDir.appendingPathComponent("status-1234.json").path
            let file = dir.appendingPathComponent("a.py").path
            defer { Harness.cleanUp(dir, statusFiles: [vscodeStatus, ".dmypy.json", "mv.json"]) }
            var transcript: [Harness.Result] = []
            // VS Code's mypy extension, on open and on save, then stop.
            let vscode = ["--status-file", vscodeStatus, "run", "--", "--no-color-output", "--no-error-summary",
                          "--show-absolute-path", "--show-column-numbers", "--show-error-codes", "--no-pretty",
                          "--show-error-end", file]
            transcript.append(try Harness.dmypy(implementation, vscode, in: dir))
            try Harness.write(dir, "b.py", "def f() -> int:\n    return 1\n")
            transcript.append(try Harness.dmypy(implementation, vscode, in: dir))
            transcript.append(try Harness.dmypy(implementation, ["--status-file", vscodeStatus, "stop"], in: dir))
            // pylsp-mypy: status, restart if that failed, then run.
            let status = try Harness.dmypy(implementation, ["--status-file", ".dmypy.json", "status"], in: dir)
            transcript.append(status)
            if status.status != 0 {
                transcript.append(try Harness.dmypy(implementation, ["--status-file", ".dmypy.json", "restart"], in: dir))
            }
            transcript.append(try Harness.dmypy(implementation, ["--status-file", ".dmypy.json", "run", "--", "--show-error-end",
                                                                 "--no-error-summary", "--no-pretty", "a.py"], in: dir))
            transcript.append(try Harness.dmypy(implementation, ["--status-file", ".dmypy.json", "kill"], in: dir))
            // mypy-vscode.
            let log = dir.appendingPathComponent("dmypy.log").path
            transcript.append(try Harness.dmypy(implementation, ["--status-file", "mv.json", "run", "--log-file", log, "--",
                                                                 "--python-executable", Harness.python, ".", "--show-error-end",
                                                                 "--no-error-summary", "--no-pretty", "--no-color-output"], in: dir))
            transcript.append(try Harness.dmypy(implementation, ["--status-file", "mv.json", "stop"], in: dir))
            transcripts.append(transcript.map { result in
                var r = result
                r.stdout = r.stdout.replacingOccurrences(of: dir.path, with: "<project>")
                r.stderr = r.stderr.replacingOccurrences(of: dir.path, with: "<project>")
                return r
            })
        }
        for (i, (expected, actual)) in zip(transcripts[0], transcripts[1]).enumerated() {
            #expect(actual == expected, "editor step \(i)\nmypy:\n\(expected)\nours:\n\(actual)")
        }
    }
}
