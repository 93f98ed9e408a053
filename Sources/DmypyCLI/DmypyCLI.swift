// DmypyCLI: mypy's `dmypy` command line, parsed and printed exactly as Python
// 3.11's argparse does with the parser of mypy 2.4.1's `mypy/dmypy/client.py`:
// same results, same help and usage text, same error messages, same streams and
// exit statuses.
//
// The whole API:
//
//     switch parseCommandLine(Array(CommandLine.arguments.dropFirst()), columns: columns) {
//     case .invocation(let invocation):
//         // run invocation.command against invocation.statusFile; for
//         // .none print usageText(columns:), for .help helpText(columns:)
//         // (both to stdout, exit 0)
//     case .version:
//         // print "dmypy <mypy version> (dmypy-swift <ours>)", exit 0
//     case .exit(let code, let stdout, let stderr):
//         // write stdout and stderr as they are, exit with code (help: 0, errors: 2)
//     }
//
// `columns` is what `shutil.get_terminal_size().columns` would say: `COLUMNS`
// from the environment if it is a positive integer, else the width of the
// terminal on stdout, else 80. (argparse then formats for `columns - 2`.)
//
// Where this deliberately differs from argparse + client.py:
// - the `daemon` subcommand also takes dmypy-swift's hidden `--ready-fd N` (an
//   int that must fit a C int), declared like `--options-data`;
// - integers saturate at `Int`'s range instead of being unbounded;
// - `@file` nesting deeper than 1000 stops with a RecursionError line (exit 1)
//   where Python crashes with a RecursionError traceback;
// - the default `@file` reader decodes malformed UTF-8 with U+FFFD where Python
//   crashes with a UnicodeDecodeError traceback.
//
// dmypy-swift's own subcommands (`install-units`) are not in this parser: see
// OwnCommands.swift (`parseOwnCommand`, tried first by the binary).

/// The outcome of parsing a dmypy command line.
public enum ParseOutcome: Equatable, Sendable {
    /// A command to run (including `.help` and `.none`, see `Command`).
    case invocation(Invocation)
    /// `-V/--version` was given: the caller prints the version line, exits 0.
    case version
    /// Parsing ended the program: `-h/--help` (code 0, help on stdout) or an
    /// error (code 2, usage and `dmypy ...: error: ...` on stderr).
    case exit(code: Int32, stdout: String, stderr: String)
}

/// A successfully parsed command line.
public struct Invocation: Equatable, Sendable {
    /// `--status-file` (default `.dmypy.json`).
    public var statusFile: String
    public var command: Command
    /// argparse quirk: an option that takes one value, given as `--opt=--`, is set
    /// to an empty *list* (argparse drops the `--`, then has no value to convert).
    /// The typed field then reads as absent (or its default), and its argparse
    /// dest (e.g. `"log_file"`, `"status_file"`, `"show"`) is listed here.
    public var emptyListOptions: Set<String>

    public init(statusFile: String = ".dmypy.json", command: Command, emptyListOptions: Set<String> = []) {
        self.statusFile = statusFile
        self.command = command
        self.emptyListOptions = emptyListOptions
    }
}

/// Parses `arguments` (the command line without the program name) like
/// `parser.parse_args(arguments)` in mypy's dmypy client.
///
/// - Parameters:
///   - columns: the terminal width figure (see the module documentation).
///   - readFile: reads an `@file` (one argument per line); throw
///     `ArgumentsFileError` to get Python's `[Errno N] ...: 'path'` message.
public func parseCommandLine(
    _ arguments: [String], columns: Int,
    readFile: (String) throws -> String = readArgumentsFile
) -> ParseOutcome {
    withoutActuallyEscaping(readFile) { readFile throws(Never) -> ParseOutcome in
        let parser = ArgumentParser(spec: dmypyParser, context: ParseContext(columns: columns, readFile: readFile))
        do throws(ParseExit) {
            let namespace = try parser.parseArgs(arguments)
            return .invocation(Invocation(namespace: namespace.values))
        } catch {
            switch error {
            case .version:
                return .version
            case .exit(let code, let stdout, let stderr):
                return .exit(code: code, stdout: stdout, stderr: stderr)
            }
        }
    }
}

/// `dmypy --help` / `dmypy help`: the full help of the top-level parser.
public func helpText(columns: Int) -> String {
    HelpFormatter(parser: dmypyParser, columns: columns).formatHelp()
}

/// The top-level usage, as `dmypy` with no subcommand prints it.
public func usageText(columns: Int) -> String {
    HelpFormatter(parser: dmypyParser, columns: columns).formatUsage()
}
