// `dmypy cache …`: the remote cache, by hand (CI pushes, a fresh clone pulls, anyone asks why a
// start was or was not warm). Parsed as argparse would word it, like our other own commands.

/// One of the `cache` subcommands, parsed.
public enum CacheCommand: Equatable, Sendable {
    /// `dmypy cache push [--remote URL] [--commit SHA] [-- ARG ...]`: build a full, sequential
    /// fine-grained cache of the checkout and upload it under its commit.
    case push(remote: String?, commit: String?, flags: [String])
    /// `dmypy cache pull [--remote URL] [-- ARG ...]`: install the nearest cached commit's cache
    /// as this checkout's local slot.
    case pull(remote: String?, flags: [String])
    /// `dmypy cache status [--remote URL] [-- ARG ...]`: what is local, what is remote, why.
    case status(remote: String?, flags: [String])
    /// `dmypy cache fetch --location URL --key KEY --into DIR [--timeout S]`: the engine's
    /// plumbing (find the nearest cached commit, download and verify its archive; one JSON line).
    case fetch(location: String, key: String, into: String, timeout: Double)
}

let cacheUsage = "usage: dmypy cache [-h] {push,pull,status} ...\n"

/// `dmypy cache --help`.
public let cacheHelp = cacheUsage + """

    A fine-grained cache shared through object storage (s3://bucket/prefix on any S3-compatible
    store, or file:///path), keyed by mypy's and Python's versions, the options and the commit.
    CI pushes one per commit of the main branch; a daemon start without a local cache pulls the
    nearest one: the merge-base of HEAD with the default remote branch, or one of its first-parent
    ancestors. The location is --remote, else $DMYPY_REMOTE_CACHE, else pyproject.toml's
    [tool.dmypy-swift] remote-cache.

    positional arguments:
      {push,pull,status}
        push              Build the cache of this checkout (-- mypy flags and targets, as for
                          `dmypy run`) and upload it under HEAD's commit (or --commit)
        pull              Install the nearest cached commit's cache for the next daemon start
        status            Say what is cached locally and remotely, and why a start was warm

    options:
      -h, --help          show this help message and exit
      --remote URL        The remote cache's location (overrides $DMYPY_REMOTE_CACHE)
      --commit SHA        push: the commit to store the cache under (default: HEAD)

    """

/// Parses `arguments` after `cache`.
func parseCacheCommand(_ arguments: ArraySlice<String>) -> OwnCommandOutcome {
    func usageError(_ message: String) -> OwnCommandOutcome {
        .exit(code: 2, stdout: "", stderr: cacheUsage + "dmypy cache: error: \(message)\n")
    }
    guard let name = arguments.first else { return usageError("the following arguments are required: {push,pull,status}") }
    if name == "-h" || name == "--help" { return .exit(code: 0, stdout: cacheHelp, stderr: "") }
    guard ["push", "pull", "status", "fetch"].contains(name) else {
        return usageError("argument {push,pull,status}: invalid choice: '\(name)' (choose from 'push', 'pull', 'status')")
    }
    var options: [String: String] = [:]
    var flags: [String] = []
    var rest = arguments.dropFirst()
    let valued = name == "fetch" ? ["--location", "--key", "--into", "--timeout"] : name == "push" ? ["--remote", "--commit"] : ["--remote"]
    while let argument = rest.first {
        rest = rest.dropFirst()
        if argument == "-h" || argument == "--help" { return .exit(code: 0, stdout: cacheHelp, stderr: "") }
        if argument == "--", name != "fetch" {
            flags += rest
            break
        }
        let (option, inline) = splitOption(argument)
        if valued.contains(option) {
            guard let value = inline ?? rest.first else { return usageError("argument \(option): expected one argument") }
            if inline == nil { rest = rest.dropFirst() }
            options[option] = value
        } else if !argument.hasPrefix("-") || argument == "-", name != "fetch" {
            flags.append(argument)
        } else {
            return usageError("unrecognized arguments: \(argument)" + (name == "fetch" ? "" : " (mypy's flags go after --)"))
        }
    }
    switch name {
    case "push": return .run(.cache(.push(remote: options["--remote"], commit: options["--commit"], flags: flags)))
    case "pull": return .run(.cache(.pull(remote: options["--remote"], flags: flags)))
    case "status": return .run(.cache(.status(remote: options["--remote"], flags: flags)))
    default:
        guard let location = options["--location"], let key = options["--key"], let into = options["--into"] else {
            return usageError("fetch needs --location, --key and --into")
        }
        guard let timeout = Double(options["--timeout"] ?? "30"), timeout > 0 else { return usageError("argument --timeout: invalid value") }
        return .run(.cache(.fetch(location: location, key: key, into: into, timeout: timeout)))
    }
}

/// `("--opt", "value")` from `--opt=value`; `(argument, nil)` otherwise.
private func splitOption(_ argument: String) -> (String, String?) {
    guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
    return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
}
