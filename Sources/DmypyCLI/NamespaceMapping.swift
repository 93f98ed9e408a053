// From argparse's namespace (`vars(args)`) to the typed `Invocation`.

extension Invocation {
    init(namespace: [String: Value]) {
        var reader = NamespaceReader(values: namespace)
        let statusFile = reader.string("status_file") ?? ".dmypy.json"
        let command = reader.command()
        self.init(statusFile: statusFile, command: command, emptyListOptions: reader.emptyLists)
    }
}

/// Reads typed fields, noting the single-valued options argparse set to `[]`.
private struct NamespaceReader {
    let values: [String: Value]
    var emptyLists: Set<String> = []

    mutating func command() -> Command {
        guard case .string(let name)? = values["action"] else { return .none }
        switch name {
        case "start": return .start(startOptions())
        case "restart": return .restart(startOptions())
        case "status":
            return .status(StatusOptions(verbose: bool("verbose"), fswatcherDumpFile: string("fswatcher_dump_file")))
        case "stop": return .stop
        case "kill": return .kill
        case "hang": return .hang
        case "help": return .help
        case "check":
            return .check(CheckOptions(
                verbose: bool("verbose"), quiet: bool("quiet"), junitXML: string("junit_xml"),
                perfStatsFile: string("perf_stats_file"), files: strings("files") ?? [],
                exportTypes: bool("export_types")))
        case "run":
            return .run(RunOptions(
                verbose: bool("verbose"), junitXML: string("junit_xml"),
                perfStatsFile: string("perf_stats_file"), timeout: int("timeout"),
                logFile: string("log_file"), exportTypes: bool("export_types"),
                flags: strings("flags") ?? []))
        case "recheck":
            return .recheck(RecheckOptions(
                verbose: bool("verbose"), quiet: bool("quiet"), junitXML: string("junit_xml"),
                perfStatsFile: string("perf_stats_file"), exportTypes: bool("export_types"),
                update: strings("update"), remove: strings("remove")))
        case "suggest":
            return .suggest(SuggestOptions(
                function: string("function") ?? "", json: bool("json"), noErrors: bool("no_errors"),
                noAny: bool("no_any"), flexAny: double("flex_any"), callsites: bool("callsites"),
                useFixme: string("use_fixme"), maxGuesses: int("max_guesses")))
        case "inspect":
            return .inspect(InspectOptions(
                location: string("location") ?? "",
                show: string("show").flatMap(Inspection.init(rawValue:)) ?? .type,
                verbosity: int("verbose") ?? 0, limit: int("limit") ?? 0,
                includeSpan: bool("include_span"), includeKind: bool("include_kind"),
                includeObjectAttrs: bool("include_object_attrs"), unionAttrs: bool("union_attrs"),
                forceReload: bool("force_reload")))
        case "daemon":
            return .daemon(DaemonOptions(
                timeout: int("timeout"), logFile: string("log_file"), flags: strings("flags") ?? [],
                optionsData: string("options_data"), readyFD: int("ready_fd").flatMap { Int32(exactly: $0) }))
        default:
            return .none
        }
    }

    private mutating func startOptions() -> StartOptions {
        StartOptions(logFile: string("log_file"), timeout: int("timeout"), flags: strings("flags") ?? [])
    }

    /// A single value; `[]` (from `--opt=--`) is recorded and read as absent.
    private mutating func single(_ dest: String) -> Value? {
        switch values[dest] {
        case .list(let items)? where items.isEmpty:
            emptyLists.insert(dest)
            return nil
        case let value?:
            return value
        case nil:
            return nil
        }
    }

    mutating func string(_ dest: String) -> String? {
        if case .string(let text)? = single(dest) { return text }
        return nil
    }

    private mutating func int(_ dest: String) -> Int? {
        if case .int(let number)? = single(dest) { return number.value }
        return nil
    }

    private mutating func double(_ dest: String) -> Double? {
        if case .float(let number)? = single(dest) { return number }
        return nil
    }

    private func bool(_ dest: String) -> Bool {
        if case .bool(let flag)? = values[dest] { return flag }
        return false
    }

    private func strings(_ dest: String) -> [String]? {
        guard case .list(let items)? = values[dest] else { return nil }
        return items.compactMap { if case .string(let text) = $0 { return text } else { return nil } }
    }
}
