// dmypy-swift's own subcommands, which mypy's dmypy does not have. They are recognised before
// mypy's parser runs, and only as the first argument, so every command line mypy's dmypy accepts
// is parsed exactly as before (the argparse oracle covers that); the one difference is that
// `dmypy install-units`, which mypy's parser rejects as an invalid choice, runs ours. mypy's help
// text is unchanged; `ownCommandsHelp` is what the binary adds after it on a terminal.

/// One of our own subcommands, parsed.
public enum OwnCommand: Equatable, Sendable {
    /// `dmypy install-units`: write the systemd user units for this binary.
    case installUnits
    /// `dmypy watch [--json] [--clear] [-- ARG ...]`: diagnostics now and after every change.
    case watch(json: Bool, clear: Bool, flags: [String])
    /// `dmypy lsp [-- FLAG ...]`: the language server on stdin/stdout.
    case lsp(flags: [String])
    /// `dmypy cache push|pull|status`: the remote cache (`CacheCommandLine.swift`).
    case cache(CacheCommand)
}

/// The outcome of `parseOwnCommand`.
public enum OwnCommandOutcome: Equatable, Sendable {
    case run(OwnCommand)
    /// Help (code 0, on stdout) or a usage error (code 2, on stderr), as argparse words them.
    case exit(code: Int32, stdout: String, stderr: String)
}

/// Our subcommands, with the one-line help that `ownCommandsHelp` lists.
public let ownCommandNames: [(name: String, help: String)] = [
    ("install-units", "Install the systemd user units (dmypy.socket, dmypy.service) for this binary"),
    ("watch", "Print the diagnostics now and again after every change (dmypy watch -h)"),
    ("lsp", "Language server for editors on stdin/stdout (dmypy lsp -h)"),
    ("cache", "Share the daemon's cache through object storage: push, pull, status (dmypy cache -h)"),
]

/// Parses `arguments` (without the program name) when its first element names one of our own
/// subcommands; nil otherwise (then mypy's parser, `parseCommandLine`, is the one to use).
public func parseOwnCommand(_ arguments: [String]) -> OwnCommandOutcome? {
    switch arguments.first {
    case "watch": return parseWatchOrLSP(arguments)
    case "lsp": return parseWatchOrLSP(arguments)
    case "cache": return parseCacheCommand(arguments.dropFirst())
    default: break
    }
    guard arguments.first == "install-units" else { return nil }
    let rest = arguments.dropFirst()
    if rest.contains(where: { $0 == "-h" || $0 == "--help" }) {
        return .exit(code: 0, stdout: installUnitsHelp, stderr: "")
    }
    if !rest.isEmpty {
        return .exit(code: 2, stdout: "",
                     stderr: installUnitsUsage + "dmypy install-units: error: unrecognized arguments: \(rest.joined(separator: " "))\n")
    }
    return .run(.installUnits)
}

let installUnitsUsage = "usage: dmypy install-units [-h]\n"

/// `dmypy install-units --help`.
public let installUnitsHelp = installUnitsUsage + """

    Install the systemd user units for this dmypy binary: dmypy.socket and dmypy.service
    (ExecStart is this binary's real path) in $XDG_CONFIG_HOME/systemd/user (by default
    ~/.config/systemd/user), replacing what is there. Then `systemctl --user enable --now
    dmypy.socket` makes the first `dmypy check` start the daemon.

    options:
      -h, --help  show this help message and exit

    """

/// `watch` and `lsp`: our options, then mypy's flags and files (as `dmypy run`'s `ARG ...`: after
/// `--`, or any argument that does not start with `-`).
private func parseWatchOrLSP(_ arguments: [String]) -> OwnCommandOutcome {
    let name = arguments[0]
    let usage = name == "watch" ? watchUsage : lspUsage
    var json = false, clear = false
    var flags: [String] = []
    var rest = arguments.dropFirst()
    while let argument = rest.first {
        rest = rest.dropFirst()
        switch argument {
        case "-h", "--help":
            return .exit(code: 0, stdout: name == "watch" ? watchHelp : lspHelp, stderr: "")
        case "--":
            flags += rest
            rest = []
        case "--json" where name == "watch":
            json = true
        case "--clear" where name == "watch":
            clear = true
        default:
            guard !argument.hasPrefix("-") || argument == "-" else {
                return .exit(code: 2, stdout: "", stderr: usage + "dmypy \(name): error: unrecognized arguments: \(argument)"
                             + " (mypy's flags go after --)\n")
            }
            flags.append(argument)
        }
    }
    return .run(name == "watch" ? .watch(json: json, clear: clear, flags: flags) : .lsp(flags: flags))
}

let watchUsage = "usage: dmypy watch [-h] [--json] [--clear] [ARG ...]\n"
let lspUsage = "usage: dmypy lsp [-h] [FLAG ...]\n"

/// `dmypy watch --help`.
public let watchHelp = watchUsage + """

    Print the diagnostics as `dmypy run` does (starting the daemon if needed), then again each
    time the daemon has re-checked after a change; the daemon pushes each result, nothing polls.
    Ctrl-C ends it (status 0) and leaves the daemon running.

    positional arguments:
      ARG         Regular mypy flags and files (precede with --)

    options:
      -h, --help  show this help message and exit
      --json      One JSON object per result (mypy's --output json records, what changed)
      --clear     Clear the terminal before each result

    """

/// `dmypy lsp --help`.
public let lspHelp = lspUsage + """

    Serve the Language Server Protocol on stdin/stdout: diagnostics pushed after every check of
    each workspace folder (also after changes made outside the editor), unsaved buffers checked
    as typed, hover and go to definition. Each folder is checked as `dmypy run` would check it.

    positional arguments:
      FLAG        Regular mypy flags for every workspace folder (precede with --)

    options:
      -h, --help  show this help message and exit

    """

/// What the binary prints after mypy's own help on a terminal (never on a pipe, where the help
/// stays mypy's byte for byte).
public var ownCommandsHelp: String {
    let width = ownCommandNames.map(\.name.count).max() ?? 0
    return "\ndmypy-swift's own commands (not in mypy's dmypy):\n"
        + ownCommandNames.map { "  \($0.name)\(String(repeating: " ", count: width - $0.name.count + 2))\($0.help)\n" }.joined()
}
