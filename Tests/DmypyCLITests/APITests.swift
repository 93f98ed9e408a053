// The typed results for the command lines the client cares about, and the
// behaviour the argparse oracle cannot show (saturation, runaway @files, the
// file reader, widths no terminal reports).

import DmypyCLI
import Foundation
import Testing

private func parse(_ argv: [String], readFile: (String) throws -> String = readArgumentsFile) -> ParseOutcome {
    parseCommandLine(argv, columns: 80, readFile: readFile)
}

private func command(_ argv: [String]) -> Command? {
    if case .invocation(let invocation) = parse(argv) { return invocation.command }
    return nil
}

@Suite("Typed results")
struct TypedResultTests {
    @Test func mypyFlagsAfterDoubleDash() {
        #expect(command(["run", "--", "--strict", "src/"]) == .run(RunOptions(flags: ["--strict", "src/"])))
        #expect(command(["run", "src/", "--", "--strict"]) == .run(RunOptions(flags: ["src/", "--strict"])))
        #expect(command(["start", "--timeout", "5", "--", "--follow-imports=skip"])
            == .start(StartOptions(timeout: 5, flags: ["--follow-imports=skip"])))
        #expect(command(["restart", "--log-file", "l"]) == .restart(StartOptions(logFile: "l")))
    }

    @Test func checkAndRecheck() {
        #expect(command(["check", "-v", "a.py", "b.py"]) == .check(CheckOptions(verbose: true, files: ["a.py", "b.py"])))
        #expect(command(["recheck", "--update", "a.py", "b.py", "--remove", "c.py"])
            == .recheck(RecheckOptions(update: ["a.py", "b.py"], remove: ["c.py"])))
        #expect(command(["recheck", "--update"]) == .recheck(RecheckOptions(update: [])))
        #expect(command(["recheck"]) == .recheck(RecheckOptions()))
    }

    @Test func suggestInspectStatusDaemon() {
        #expect(command(["suggest", "--flex-any", "0.5", "--max-guesses", "3", "m.f"])
            == .suggest(SuggestOptions(function: "m.f", flexAny: 0.5, maxGuesses: 3)))
        #expect(command(["inspect", "-v", "-vv", "--show", "attrs", "--limit", "2", "f.py:1:2"])
            == .inspect(InspectOptions(location: "f.py:1:2", show: .attrs, verbosity: 3, limit: 2)))
        #expect(command(["status", "--fs", "dump.json"]) == .status(StatusOptions(fswatcherDumpFile: "dump.json")))
        #expect(command(["daemon", "--ready-fd", "7", "--options-data", "QUJD", "--timeout", "60"])
            == .daemon(DaemonOptions(timeout: 60, optionsData: "QUJD", readyFD: 7)))
        #expect(command(["stop"]) == .stop)
        #expect(command(["kill"]) == .kill)
        #expect(command(["hang"]) == .hang)
    }

    @Test func noSubcommandHelpAndVersion() {
        #expect(parse([]) == .invocation(Invocation(command: .none)))
        #expect(parse(["--status-file", "s.json"]) == .invocation(Invocation(statusFile: "s.json", command: .none)))
        #expect(parse(["help"]) == .invocation(Invocation(command: .help)))
        #expect(parse(["-V"]) == .version)
        #expect(parse(["--vers", "start"]) == .version)
        guard case .exit(0, let help, "") = parse(["-h"]) else {
            Issue.record("-h should exit 0 with the help on stdout")
            return
        }
        #expect(help == helpText(columns: 80))
        #expect(usageText(columns: 80).hasPrefix("usage: dmypy [-h] [--status-file STATUS_FILE] [-V]\n"))
    }

    @Test func emptyListQuirk() {
        let outcome = parse(["--status-file=--", "start", "--log-file=--", "--timeout=--"])
        let expected = Invocation(command: .start(StartOptions()),
                                  emptyListOptions: ["status_file", "log_file", "timeout"])
        #expect(outcome == .invocation(expected))
        #expect(parse(["inspect", "--show=--", "x"])
            == .invocation(Invocation(command: .inspect(InspectOptions(location: "x")), emptyListOptions: ["show"])))
    }
}

@Suite("Beyond the oracle")
struct BeyondOracleTests {
    @Test func integersSaturate() {
        #expect(command(["start", "--timeout", "123456789012345678901234567890"])
            == .start(StartOptions(timeout: Int.max)))
        #expect(command(["start", "--timeout", "-123456789012345678901234567890"])
            == .start(StartOptions(timeout: Int.min)))
        // Python refuses more than 4300 digits.
        guard case .exit(2, "", let stderr) = parse(["start", "--timeout", String(repeating: "1", count: 4301)]) else {
            Issue.record("4301 digits should be an invalid int")
            return
        }
        #expect(stderr.contains("dmypy start: error: argument --timeout: invalid int value: '1111"))
    }

    @Test func runawayArgumentFilesStop() {
        let outcome = parse(["@loop"], readFile: { _ in "@loop\n" })
        #expect(outcome == .exit(code: 1, stdout: "",
                                 stderr: "RecursionError: maximum recursion depth exceeded while calling a Python object\n"))
    }

    @Test func readerErrorsAreReportedLikePython() {
        struct Odd: Error, CustomStringConvertible { var description: String { "odd failure" } }
        guard case .exit(2, "", let stderr) = parse(["@x"], readFile: { _ in throw Odd() }) else {
            Issue.record("an unreadable @file is an argparse error")
            return
        }
        #expect(stderr.hasSuffix("\ndmypy: error: odd failure\n"))
        guard case .exit(2, "", let missing) = parse(["@/nonexistent/it's"]) else {
            Issue.record("a missing @file is an argparse error")
            return
        }
        #expect(missing.hasSuffix("\ndmypy: error: [Errno 2] No such file or directory: \"/nonexistent/it's\"\n"))
    }

    @Test func defaultReader() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dmypy-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("args")
        try Data("status\n-v\n\u{E9}\n".utf8).write(to: file)
        #expect(try readArgumentsFile(file.path) == "status\n-v\n\u{E9}\n")
        #expect(throws: ArgumentsFileError(errno: ENOENT)) { try readArgumentsFile(directory.path + "/none") }
        #expect(throws: ArgumentsFileError(errno: EISDIR)) { try readArgumentsFile(directory.path) }
    }

    @Test func anyWidthIsSafe() {
        for columns in [Int.min, -1_000_000, -3, 0, 1, 2, 3, 1_000_000, Int.max] {
            #expect(helpText(columns: columns).hasPrefix("usage: dmypy"))
            #expect(usageText(columns: columns).hasPrefix("usage: dmypy"))
            if case .exit(2, "", let stderr) = parseCommandLine(["inspect", "-vx"], columns: columns) {
                #expect(stderr.hasSuffix("dmypy inspect: error: argument --verbose/-v: ignored explicit argument 'x'\n"))
            } else {
                Issue.record("inspect -vx should be an error at \(columns) columns")
            }
        }
    }
}
