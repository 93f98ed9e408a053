import DmypySystem

/// How `dmypy daemon` was asked to run.
public struct DaemonConfiguration: Sendable {
    /// Where to write `.dmypy.json`.
    public var statusFile: String
    /// Exit after this many seconds without a request (mypy's `--timeout`).
    public var timeout: Int?
    /// Append stdout/stderr (our log) to this file.
    public var logFile: String?
    /// mypy flags for the engine, as given to `dmypy start`/`run`/`daemon`.
    public var flags: [String]
    /// True for `dmypy run`, whose flags may name the files to check.
    public var allowSources: Bool
    /// A pipe to the starting client: one frame saying whether we serve, then closed.
    public var readyFD: Int32?
    /// Whether the starting client's stdout/stderr were terminals (mypy builds its output
    /// formatter in the client process, so colours follow the client's terminal).
    public var stdoutTTY: Bool
    public var stderrTTY: Bool
    /// The working directory and environment the engine runs with.
    public var directory: String
    public var environment: [String]
    /// The engine is recycled (restarted and warmed again) after a check that leaves it above this
    /// resident size. mypy's daemon only grows; a week-long session should not.
    public var engineMemoryLimitMiB: Double = DaemonConfiguration.defaultEngineMemoryLimitMiB()
    /// Replace the engine after this many updates (`EngineAging` also replaces it when it slows down).
    public var engineMaximumUpdates: Int?

    public init(statusFile: String, timeout: Int?, logFile: String?, flags: [String], allowSources: Bool,
                readyFD: Int32?, stdoutTTY: Bool, stderrTTY: Bool, directory: String, environment: [String]) {
        self.statusFile = statusFile
        self.timeout = timeout
        self.logFile = logFile
        self.flags = flags
        self.allowSources = allowSources
        self.readyFD = readyFD
        self.stdoutTTY = stdoutTTY
        self.stderrTTY = stderrTTY
        self.directory = directory
        self.environment = environment
    }

    /// Environment variables through which the client passes what `dmypy daemon`'s command line
    /// (which is mypy's) has no place for. They are removed before the engine sees the environment.
    public static let allowSourcesVariable = "DMYPY_SWIFT_ALLOW_SOURCES"
    public static let ttyVariable = "DMYPY_SWIFT_CLIENT_TTY"
    /// The engine memory limit in MiB, when not the default.
    public static let memoryLimitVariable = "DMYPY_MAX_MEMORY"
    /// Updates after which an engine is replaced by a fresh one, when set.
    public static let recycleAfterVariable = "DMYPY_RECYCLE_AFTER"

    /// A quarter of the machine's memory, between 2 and 8 GiB: room for a large project's
    /// build, not for a leak to take over a desktop.
    public static func defaultEngineMemoryLimitMiB() -> Double {
        let totalMiB = FileSystem.read("/proc/meminfo").flatMap { bytes -> Double? in
            let text = String(decoding: bytes, as: UTF8.self)
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }) else { return nil }
            return line.split(separator: " ").dropFirst().first.flatMap { Double($0) }.map { $0 / 1024 }
        } ?? 8192
        return min(max(totalMiB / 4, 2048), 8192)
    }
}
