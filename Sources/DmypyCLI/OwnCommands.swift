// dmypy-swift's own subcommands, which mypy's dmypy does not have. They are recognised before
// mypy's parser runs, and only as the first argument, so every command line mypy's dmypy accepts
// is parsed exactly as before (the argparse oracle covers that); the one difference is that
// `dmypy install-units`, which mypy's parser rejects as an invalid choice, runs ours. mypy's help
// text is unchanged; `ownCommandsHelp` is what the binary adds after it on a terminal.

/// One of our own subcommands, parsed.
public enum OwnCommand: Equatable, Sendable {
    /// `dmypy install-units`: write the systemd user units for this binary.
    case installUnits
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
]

/// Parses `arguments` (without the program name) when its first element names one of our own
/// subcommands; nil otherwise (then mypy's parser, `parseCommandLine`, is the one to use).
public func parseOwnCommand(_ arguments: [String]) -> OwnCommandOutcome? {
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

/// What the binary prints after mypy's own help on a terminal (never on a pipe, where the help
/// stays mypy's byte for byte).
public var ownCommandsHelp: String {
    let width = ownCommandNames.map(\.name.count).max() ?? 0
    return "\ndmypy-swift's own commands (not in mypy's dmypy):\n"
        + ownCommandNames.map { "  \($0.name)\(String(repeating: " ", count: width - $0.name.count + 2))\($0.help)\n" }.joined()
}
