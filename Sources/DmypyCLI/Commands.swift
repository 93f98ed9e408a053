// The parsed command line, typed: one case per dmypy subcommand, one field per
// option (named after argparse's dest, in Swift case).
//
// Integers are Python ints, which are unbounded; here they saturate at
// `Int.min`/`Int.max`.

/// `dmypy start` and `dmypy restart`.
public struct StartOptions: Equatable, Sendable {
    /// `--log-file FILE`.
    public var logFile: String?
    /// `--timeout TIMEOUT`.
    public var timeout: Int?
    /// The mypy flags (`FLAG ...`, after `--`).
    public var flags: [String]

    public init(logFile: String? = nil, timeout: Int? = nil, flags: [String] = []) {
        self.logFile = logFile
        self.timeout = timeout
        self.flags = flags
    }
}

/// `dmypy status`.
public struct StatusOptions: Equatable, Sendable {
    /// `-v/--verbose`.
    public var verbose: Bool
    /// `--fswatcher-dump-file FSWATCHER_DUMP_FILE`.
    public var fswatcherDumpFile: String?

    public init(verbose: Bool = false, fswatcherDumpFile: String? = nil) {
        self.verbose = verbose
        self.fswatcherDumpFile = fswatcherDumpFile
    }
}

/// `dmypy check`.
public struct CheckOptions: Equatable, Sendable {
    public var verbose: Bool
    /// `-q/--quiet`: deprecated, hidden, no effect.
    public var quiet: Bool
    public var junitXML: String?
    public var perfStatsFile: String?
    /// `FILE [FILE ...]`: at least one.
    public var files: [String]
    public var exportTypes: Bool

    public init(verbose: Bool = false, quiet: Bool = false, junitXML: String? = nil,
                perfStatsFile: String? = nil, files: [String], exportTypes: Bool = false) {
        self.verbose = verbose
        self.quiet = quiet
        self.junitXML = junitXML
        self.perfStatsFile = perfStatsFile
        self.files = files
        self.exportTypes = exportTypes
    }
}

/// `dmypy run`.
public struct RunOptions: Equatable, Sendable {
    public var verbose: Bool
    public var junitXML: String?
    public var perfStatsFile: String?
    public var timeout: Int?
    public var logFile: String?
    public var exportTypes: Bool
    /// Mypy flags and files (`ARG ...`).
    public var flags: [String]

    public init(verbose: Bool = false, junitXML: String? = nil, perfStatsFile: String? = nil,
                timeout: Int? = nil, logFile: String? = nil, exportTypes: Bool = false,
                flags: [String] = []) {
        self.verbose = verbose
        self.junitXML = junitXML
        self.perfStatsFile = perfStatsFile
        self.timeout = timeout
        self.logFile = logFile
        self.exportTypes = exportTypes
        self.flags = flags
    }
}

/// `dmypy recheck`.
public struct RecheckOptions: Equatable, Sendable {
    public var verbose: Bool
    /// `-q/--quiet`: deprecated, hidden, no effect.
    public var quiet: Bool
    public var junitXML: String?
    public var perfStatsFile: String?
    public var exportTypes: Bool
    /// `--update [FILE ...]`: nil when absent, possibly empty when given.
    public var update: [String]?
    /// `--remove [FILE ...]`: nil when absent, possibly empty when given.
    public var remove: [String]?

    public init(verbose: Bool = false, quiet: Bool = false, junitXML: String? = nil,
                perfStatsFile: String? = nil, exportTypes: Bool = false,
                update: [String]? = nil, remove: [String]? = nil) {
        self.verbose = verbose
        self.quiet = quiet
        self.junitXML = junitXML
        self.perfStatsFile = perfStatsFile
        self.exportTypes = exportTypes
        self.update = update
        self.remove = remove
    }
}

/// `dmypy suggest`.
public struct SuggestOptions: Equatable, Sendable {
    /// `FUNCTION`.
    public var function: String
    public var json: Bool
    public var noErrors: Bool
    public var noAny: Bool
    /// `--flex-any FLEX_ANY` (Python `float`: may be inf or nan).
    public var flexAny: Double?
    public var callsites: Bool
    /// `--use-fixme NAME`.
    public var useFixme: String?
    public var maxGuesses: Int?

    public init(function: String, json: Bool = false, noErrors: Bool = false, noAny: Bool = false,
                flexAny: Double? = nil, callsites: Bool = false, useFixme: String? = nil,
                maxGuesses: Int? = nil) {
        self.function = function
        self.json = json
        self.noErrors = noErrors
        self.noAny = noAny
        self.flexAny = flexAny
        self.callsites = callsites
        self.useFixme = useFixme
        self.maxGuesses = maxGuesses
    }
}

/// `dmypy inspect --show`.
public enum Inspection: String, Equatable, Sendable {
    case type, attrs, definition
}

/// `dmypy inspect`.
public struct InspectOptions: Equatable, Sendable {
    /// `LOCATION`.
    public var location: String
    /// `--show INSPECTION` (default `type`).
    public var show: Inspection
    /// How many times `-v/--verbose` was given (sent to the daemon as `verbosity`).
    public var verbosity: Int
    /// `--limit NUM` (default 0: no limit).
    public var limit: Int
    public var includeSpan: Bool
    public var includeKind: Bool
    public var includeObjectAttrs: Bool
    public var unionAttrs: Bool
    public var forceReload: Bool

    public init(location: String, show: Inspection = .type, verbosity: Int = 0, limit: Int = 0,
                includeSpan: Bool = false, includeKind: Bool = false,
                includeObjectAttrs: Bool = false, unionAttrs: Bool = false, forceReload: Bool = false) {
        self.location = location
        self.show = show
        self.verbosity = verbosity
        self.limit = limit
        self.includeSpan = includeSpan
        self.includeKind = includeKind
        self.includeObjectAttrs = includeObjectAttrs
        self.unionAttrs = unionAttrs
        self.forceReload = forceReload
    }
}

/// `dmypy daemon` (started by the client; runs the server in the foreground).
public struct DaemonOptions: Equatable, Sendable {
    public var timeout: Int?
    public var logFile: String?
    public var flags: [String]
    /// `--options-data` (hidden): the client's pickled, base64-encoded options.
    public var optionsData: String?
    /// `--ready-fd N` (hidden, dmypy-swift's own): where to report readiness.
    public var readyFD: Int32?

    public init(timeout: Int? = nil, logFile: String? = nil, flags: [String] = [],
                optionsData: String? = nil, readyFD: Int32? = nil) {
        self.timeout = timeout
        self.logFile = logFile
        self.flags = flags
        self.optionsData = optionsData
        self.readyFD = readyFD
    }
}

/// The subcommand and its options.
public enum Command: Equatable, Sendable {
    case start(StartOptions)
    case restart(StartOptions)
    case status(StatusOptions)
    case stop
    case kill
    case check(CheckOptions)
    case run(RunOptions)
    case recheck(RecheckOptions)
    case suggest(SuggestOptions)
    case inspect(InspectOptions)
    case hang
    case daemon(DaemonOptions)
    /// `dmypy help`: print `helpText(columns:)` to stdout, exit 0.
    case help
    /// No subcommand given (`dmypy` alone, or only top-level options): print
    /// `usageText(columns:)` to stdout, exit 0. (Beware: where a `Command?` is
    /// compared with `.none`, Swift reads it as nil; match `Command.none`.)
    case none
}
