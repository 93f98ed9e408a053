import DmypyCLI
import DmypyClient
import DmypyEngine
import DmypyLSP
import DmypySystem
import DmypyWire
import Glibc

// dmypy: mypy's daemon client, and (`dmypy daemon`) the daemon itself.

let context = ClientContext.current(arguments: CommandLine.arguments)
let columns = Terminal.columns(environment: context.environment)

func write(_ fd: FileDescriptor, _ text: String) {
    if !text.isEmpty { try? fd.writeAll(Array(text.utf8)) }
}

// Our own subcommands (not mypy's) first: only a first argument naming one of them is ours.
switch parseOwnCommand(Array(CommandLine.arguments.dropFirst())) {
case .run(.installUnits):
    exit(UserUnits.run(environment: context.environment))
case .run(.watch(let json, let clear, let flags)):
    let client = Client(context: context, statusFile: ".dmypy.json")
    do {
        try client.watch(json: json, clear: clear, flags: flags)
        exit(0)
    } catch {
        exit(error.status)
    }
case .run(.lsp(let flags)):
    exit(LanguageServer.run(context: context, flags: flags))
case .run(.cache(let command)):
    exit(CacheCommands.run(command, context: context))
case .exit(let code, let stdout, let stderr):
    write(.standardOutput, stdout)
    write(.standardError, stderr)
    exit(code)
case nil:
    break
}

/// mypy's help, then, on a terminal only, the list of our own subcommands; on a pipe (editors,
/// scripts, help2man) the bytes stay mypy's.
func writeHelp(_ text: String) {
    write(.standardOutput, text)
    if FileDescriptor.standardOutput.isTerminal && text == helpText(columns: columns) {
        write(.standardOutput, ownCommandsHelp)
    }
}

let outcome = parseCommandLine(Array(CommandLine.arguments.dropFirst()), columns: columns,
                               readFile: { path in try readArgumentsFile(path) })

func finish(_ body: () throws(ClientExit) -> Void) -> Never {
    do {
        try body()
        exit(0)
    } catch {
        exit(error.status)
    }
}

switch outcome {
case .exit(let code, let stdout, let stderr):
    writeHelp(stdout)
    write(.standardError, stderr)
    exit(code)
case .version:
    write(.standardOutput, "dmypy \(VersionReport.mypyVersion(context: context)) (dmypy-swift \(VersionReport.ours))\n")
    exit(0)
case .invocation(let invocation):
    let client = Client(context: context, statusFile: invocation.statusFile)
    switch invocation.command {
    case .none:
        write(.standardOutput, usageText(columns: columns))
        exit(0)
    case .help:
        writeHelp(helpText(columns: columns))
        exit(0)
    case .start(let o):
        finish { () throws(ClientExit) in try client.start(logFile: o.logFile, timeout: o.timeout, flags: o.flags) }
    case .restart(let o):
        finish { () throws(ClientExit) in try client.restart(logFile: o.logFile, timeout: o.timeout, flags: o.flags) }
    case .status(let o):
        finish { () throws(ClientExit) in try client.status(verbose: o.verbose, fswatcherDumpFile: o.fswatcherDumpFile) }
    case .stop:
        finish { () throws(ClientExit) in try client.stop() }
    case .kill:
        finish { () throws(ClientExit) in try client.kill() }
    case .check(let o):
        finish { () throws(ClientExit) in
            try client.check(files: o.files, exportTypes: o.exportTypes, verbose: o.verbose, junitXML: o.junitXML, perfStatsFile: o.perfStatsFile)
        }
    case .run(let o):
        finish { () throws(ClientExit) in
            try client.run(flags: o.flags, exportTypes: o.exportTypes, verbose: o.verbose, junitXML: o.junitXML,
                           perfStatsFile: o.perfStatsFile, logFile: o.logFile, timeout: o.timeout)
        }
    case .recheck(let o):
        finish { () throws(ClientExit) in
            try client.recheck(exportTypes: o.exportTypes, update: o.update, remove: o.remove, verbose: o.verbose,
                               junitXML: o.junitXML, perfStatsFile: o.perfStatsFile)
        }
    case .suggest(let o):
        finish { () throws(ClientExit) in
            try client.suggest(fields: [
                "function": .string(o.function), "json": .bool(o.json), "callsites": .bool(o.callsites),
                "no_errors": .bool(o.noErrors), "no_any": .bool(o.noAny),
                "flex_any": o.flexAny.map { .double($0) } ?? .null, "use_fixme": o.useFixme.map { .string($0) } ?? .null,
                "max_guesses": o.maxGuesses.map { .int($0) } ?? .null,
            ])
        }
    case .inspect(let o):
        finish { () throws(ClientExit) in
            try client.inspect(fields: [
                "show": .string(o.show.rawValue), "location": .string(o.location), "verbosity": .int(o.verbosity),
                "limit": .int(o.limit), "include_span": .bool(o.includeSpan), "include_kind": .bool(o.includeKind),
                "include_object_attrs": .bool(o.includeObjectAttrs), "union_attrs": .bool(o.unionAttrs),
                "force_reload": .bool(o.forceReload),
            ])
        }
    case .hang:
        finish { () throws(ClientExit) in try client.hang() }
    case .daemon(let o):
        if o.optionsData != nil {
            write(.standardError, "dmypy: --options-data (pickled mypy options) is only used by mypy's Windows client; pass the mypy flags instead\n")
            exit(2)
        }
        exit(DaemonEntry.run(statusFile: invocation.statusFile, timeout: o.timeout, logFile: o.logFile, flags: o.flags, readyFD: o.readyFD))
    }
}
