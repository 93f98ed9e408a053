// mypy 2.4.1's dmypy parser (mypy/dmypy/client.py), declared argument by argument
// in the same order, with the same texts. Order matters: it decides usage and help
// layout, abbreviation matching and the order of names in "ambiguous option".

/// The top-level `dmypy` parser.
let dmypyParser: ParserSpec = {
    let timeout = ArgumentSpec.store(
        ["--timeout"], metavar: "TIMEOUT", type: .int, help: "Server shutdown timeout (in seconds)")
    let logFile = ArgumentSpec.store(
        ["--log-file"], metavar: "FILE", help: "Direct daemon stdout/stderr to FILE")
    let verbose = ArgumentSpec.storeTrue(["-v", "--verbose"], help: "Print detailed status")
    let quiet = ArgumentSpec.storeTrue(["-q", "--quiet"], help: nil)  // deprecated, hidden
    let junitXML = ArgumentSpec.store(["--junit-xml"], help: "Write junit.xml to the given file")
    let perfStats = ArgumentSpec.store(
        ["--perf-stats-file"], help: "write performance information to the given file")
    let exportTypes = ArgumentSpec.storeTrue(
        ["--export-types"],
        help: "Store types of all expressions in a shared location (useful for inspections)")
    let startFlags = ArgumentSpec.positional(
        "flags", metavar: "FLAG", nargs: .zeroOrMore, help: "Regular mypy flags (precede with --)")

    func sub(_ name: String, help: String?, style: FormatterStyle = .standard,
             _ arguments: [ArgumentSpec]) -> SubcommandSpec {
        SubcommandSpec(
            name: name, help: help,
            parser: ParserSpec(
                prog: "dmypy " + name, style: style,
                arguments: [.helpOption] + arguments,
                defaults: [("action", .string(name))]))
    }

    let subcommands: [SubcommandSpec] = [
        sub("start", help: "Start daemon", [logFile, timeout, startFlags]),
        sub("restart", help: "Restart daemon (stop or kill followed by start)",
            [logFile, timeout, startFlags]),
        sub("status", help: "Show daemon status", [
            verbose,
            .store(["--fswatcher-dump-file"],
                   help: "Collect information about the current file state"),
        ]),
        sub("stop", help: "Stop daemon (asks it politely to go away)", []),
        sub("kill", help: "Kill daemon (kills the process)", []),
        sub("check", help: "Check some files (requires daemon)", style: .augmented, [
            verbose, quiet, junitXML, perfStats,
            .positional("files", metavar: "FILE", nargs: .oneOrMore,
                        help: "File (or directory) to check"),
            exportTypes,
        ]),
        sub("run", help: "Check some files, [re]starting daemon if necessary", style: .augmented, [
            verbose, junitXML, perfStats, timeout, logFile, exportTypes,
            .positional("flags", metavar: "ARG", nargs: .zeroOrMore,
                        help: "Regular mypy flags and files (precede with --)"),
        ]),
        sub("recheck",
            help: "Re-check the previous list of files, with optional modifications (requires daemon)",
            style: .augmented, [
                verbose, quiet, junitXML, perfStats, exportTypes,
                .store(["--update"], metavar: "FILE", nargs: .zeroOrMore,
                       help: "Files in the run to add or check again (default: all from previous run)"),
                .store(["--remove"], metavar: "FILE", nargs: .zeroOrMore,
                       help: "Files to remove from the run"),
            ]),
        sub("suggest", help: "Suggest a signature or show call sites for a specific function", [
            .positional("function", metavar: "FUNCTION",
                        help: "Function specified as '[package.]module.[class.]function'"),
            .storeTrue(["--json"], help: "Produce json that pyannotate can use to apply a suggestion"),
            .storeTrue(["--no-errors"], help: "Only produce suggestions that cause no errors"),
            .storeTrue(["--no-any"], help: "Only produce suggestions that don't contain Any"),
            .store(["--flex-any"], type: .float,
                   help: "Allow anys in types if they go above a certain score (scores are from 0-1)"),
            .storeTrue(["--callsites"], help: "Find callsites instead of suggesting a type"),
            .store(["--use-fixme"], metavar: "NAME",
                   help: "A dummy name to use instead of Any for types that can't be inferred"),
            .store(["--max-guesses"], type: .int,
                   help: "Set the maximum number of types to try for a function (default 64)"),
        ]),
        sub("inspect", help: "Locate and statically inspect expression(s)", [
            .positional("location", metavar: "LOCATION",
                        help: "Location specified as path/to/file.py:line:column[:end_line:end_column]."
                            + " If position is given (i.e. only line and column), this will return all"
                            + " enclosing expressions"),
            .store(["--show"], metavar: "INSPECTION", choices: ["type", "attrs", "definition"],
                   default: .string("type"), help: "What kind of inspection to run"),
            .count(["--verbose", "-v"], default: 0,
                   help: "Increase verbosity of the type string representation (can be repeated)"),
            .store(["--limit"], metavar: "NUM", type: .int, default: .int(PythonInt(value: 0, saturated: false)),
                   help: "Return at most NUM innermost expressions (if position is given); 0 means no limit"),
            .storeTrue(["--include-span"],
                       help: "Prepend each inspection result with the span of corresponding expression"
                           + " (e.g. 1:2:3:4:\"int\")"),
            .storeTrue(["--include-kind"],
                       help: "Prepend each inspection result with the kind of corresponding expression"
                           + " (e.g. NameExpr:\"int\")"),
            .storeTrue(["--include-object-attrs"],
                       help: "Include attributes of \"object\" in \"attrs\" inspection"),
            .storeTrue(["--union-attrs"],
                       help: "Include attributes valid for some of possible expression types"
                           + " (by default an intersection is returned)"),
            .storeTrue(["--force-reload"],
                       help: "Re-parse and re-type-check file before inspection (may be slow)"),
        ]),
        sub("hang", help: "Hang for 100 seconds", []),
        sub("daemon", help: "Run daemon in foreground", [
            timeout, logFile, startFlags,
            .store(["--options-data"], help: nil),
            // dmypy-swift's own: the fd on which the daemon reports readiness.
            .store(["--ready-fd"], type: .fileDescriptor, help: nil),
        ]),
        sub("help", help: nil, []),
    ]

    return ParserSpec(
        prog: "dmypy",
        description: "Client for mypy daemon mode",
        expandsArgumentFiles: true,
        arguments: [
            .helpOption,
            .store(["--status-file"], default: .string(".dmypy.json"),
                   help: "status file to retrieve daemon details"),
            ArgumentSpec(optionStrings: ["-V", "--version"], dest: nil, kind: .version, nargs: .zero,
                         defaultValue: nil, help: .text("Show program's version number and exit")),
            ArgumentSpec(optionStrings: [], dest: nil, kind: .subparsers, nargs: .parser,
                         choices: subcommands.map(\.name), help: .absent),
        ],
        subcommands: subcommands,
        defaults: [("action", .null)])
}()

// MARK: - add_argument, the way client.py calls it

extension ArgumentSpec {
    /// `-h/--help`, which every parser gets first (`add_help=True`).
    static let helpOption = ArgumentSpec(
        optionStrings: ["-h", "--help"], dest: nil, kind: .help, nargs: .zero,
        defaultValue: nil, help: .text("show this help message and exit"))

    /// `add_argument(*options, [metavar], [type], [nargs], [choices], [default], help=...)`;
    /// a nil `help` is `help=argparse.SUPPRESS`.
    static func store(
        _ options: [String], metavar: String? = nil, type: ValueType = .string,
        nargs: Nargs = .single, choices: [String]? = nil, default value: Value = .null,
        help: String?
    ) -> ArgumentSpec {
        ArgumentSpec(
            optionStrings: options, dest: inferredDest(options), kind: .store, nargs: nargs,
            type: type, choices: choices, defaultValue: value, metavar: metavar,
            help: help.map(HelpText.text) ?? .suppressed)
    }

    /// `add_argument(*options, action="store_true", help=...)`.
    static func storeTrue(_ options: [String], help: String?) -> ArgumentSpec {
        ArgumentSpec(
            optionStrings: options, dest: inferredDest(options), kind: .storeTrue, nargs: .zero,
            defaultValue: .bool(false), help: help.map(HelpText.text) ?? .suppressed)
    }

    /// `add_argument(*options, action="count", default=..., help=...)`.
    static func count(_ options: [String], default value: Int, help: String) -> ArgumentSpec {
        ArgumentSpec(
            optionStrings: options, dest: inferredDest(options), kind: .count, nargs: .zero,
            defaultValue: .int(PythonInt(value: value, saturated: false)), help: .text(help))
    }

    /// `add_argument(dest, metavar=..., [nargs], help=...)`. Like argparse, a
    /// positional is required unless `nargs` is `'?'`, or `'*'` with a default
    /// (dmypy's never have one).
    static func positional(
        _ dest: String, metavar: String, nargs: Nargs = .single, help: String
    ) -> ArgumentSpec {
        ArgumentSpec(
            optionStrings: [], dest: dest, kind: .store, nargs: nargs, metavar: metavar,
            help: .text(help), required: true)
    }

    /// argparse's dest inference: the first long option (else the first option),
    /// without leading dashes, with `-` turned into `_`.
    private static func inferredDest(_ options: [String]) -> String {
        let source = options.first { $0.hasPrefix("--") } ?? options.first ?? ""
        return String(source.drop { $0 == "-" }).replacingDashes()
    }
}

private extension String {
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}
