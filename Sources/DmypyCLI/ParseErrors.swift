// How argparse stops: `parser.exit()` / `parser.error()` (SystemExit), and the
// `ArgumentError` that `parse_known_args` turns into `parser.error(str(err))`.

/// Parsing ended without a namespace: help, an error, or `--version`.
enum ParseExit: Error, Equatable {
    /// `sys.exit(code)` after printing `stdout` and `stderr`.
    case exit(code: Int32, stdout: String, stderr: String)
    /// The `version` action ran (argparse would print the version and exit 0).
    case version
}

/// argparse's `ArgumentError`: a problem with one argument.
struct ArgumentError: Error {
    /// `_get_action_name(argument)`.
    var argumentName: String?
    var message: String

    init(_ argument: ArgumentSpec, _ message: String) {
        argumentName = argument.displayName
        self.message = message
    }

    /// `str(err)`.
    var text: String {
        argumentName.map { "argument \($0): \(message)" } ?? message
    }
}

extension ParserSpec {
    /// `parser.error(message)`: the usage and `prog: error: message` on stderr, status 2.
    func error(_ message: String, columns: Int) -> ParseExit {
        let usage = HelpFormatter(parser: self, columns: columns).formatUsage()
        return .exit(code: 2, stdout: "", stderr: usage + "\(prog): error: \(message)\n")
    }
}
