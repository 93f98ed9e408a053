import DmypySystem
import Glibc

/// What every subcommand needs to know about where it runs.
public struct ClientContext {
    /// argv[0], for messages that name the program ("consider dmypy kill").
    public var programName: String
    public var environment: [String: String]
    public var directory: String

    public init(programName: String, environment: [String: String], directory: String) {
        self.programName = programName
        self.environment = environment
        self.directory = directory
    }

    public static func current(arguments: [String]) -> ClientContext {
        let environment = Process.environmentDictionary(Process.currentEnvironment())
        return ClientContext(programName: arguments.first ?? "dmypy", environment: environment,
                             directory: FileSystem.currentDirectory())
    }

    /// What mypy's client sends as `is_tty`: stdout is a terminal, or colour is forced.
    var isTTY: Bool {
        FileDescriptor.standardOutput.isTerminal || Terminal.shouldForceColor(environment: environment)
    }

    var terminalWidth: Int { Terminal.mypyWidth(environment: environment) }
}

/// How a subcommand ends the client: mypy's `sys.exit(code)`.
public struct ClientExit: Error, Equatable {
    public let status: Int32
    public init(_ status: Int32) { self.status = status }
}

/// Console output, unbuffered so that stdout and stderr interleave as they are produced.
enum Console {
    static func out(_ text: String) {
        guard !text.isEmpty else { return }
        try? FileDescriptor.standardOutput.writeAll(Array(text.utf8))
    }

    static func err(_ text: String) {
        guard !text.isEmpty else { return }
        try? FileDescriptor.standardError.writeAll(Array(text.utf8))
    }

    /// Python's `print(text)`.
    static func print(_ text: String) { out(text + "\n") }

    /// mypy's `fail(msg)`: the message on stderr, exit status 2.
    static func fail(_ message: String) -> ClientExit {
        err(message + "\n")
        return ClientExit(2)
    }
}
