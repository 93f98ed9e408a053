import DmypyEngine
import DmypySystem

/// Why a workspace cannot serve checks: every request gets `message` as its error, and a start
/// that fails exits with `status`.
enum WorkspaceFailure: Equatable, CustomStringConvertible {
    /// No interpreter could import mypy (which were tried, and how to install it).
    case noPython(NoPythonWithMypy)
    /// mypy refused its flags or configuration; what it printed.
    case optionsRefused(message: String, status: Int)
    /// The engine process could not be started.
    case cannotSpawn(python: String, SystemError)
    /// The engine died before it answered its start.
    case diedWhileStarting(Process.Termination?, tail: String)
    /// It crashed this many times within a minute: not restarted again.
    case crashLoop(crashes: Int)

    var message: String {
        switch self {
        case .noPython(let error):
            return "\(error)"
        case .optionsRefused(let message, _):
            var message = message.isEmpty ? "dmypy: mypy refused its options" : message
            while message.hasSuffix("\n") { message.removeLast() }
            return message
        case .cannotSpawn(let python, let error):
            return "dmypy: could not start the engine \(python): \(error)"
        case .diedWhileStarting(let termination, let tail):
            return "dmypy: the engine exited while starting (\(termination.map { "\($0)" } ?? "unknown status")):\n\(tail)"
        case .crashLoop(let crashes):
            return "dmypy: the engine crashed \(crashes) times within a minute; not restarting it. See the daemon's log (journalctl -t dmypy, or the --log-file) for the tracebacks."
        }
    }

    var status: Int {
        if case .optionsRefused(_, let status) = self { return status }
        return 2
    }

    var description: String { message }
}

/// Why an engine is replaced by a new one. The differences between the ways of replacing one
/// are properties of the cause, so that there is one sequence (`Workspace.replaceEngine`).
enum EngineReplacement: Equatable {
    /// It died or mypy raised inside an update: its state can no longer be trusted.
    case crashed(String)
    /// mypy's options or a plugin changed (or the configuration became invalid).
    case outdated(String, notice: RestartNotice?)
    /// A checkout changed most of the build: a fresh build is cheaper than an update.
    case rebuild(String)
    /// It grew over the memory limit: the same build on a fresh process.
    case recycled(String)

    var reason: String {
        switch self {
        case .crashed(let text): return "it crashed: \(text.split(separator: "\n").last.map(String.init) ?? text)"
        case .outdated(let reason, _), .rebuild(let reason), .recycled(let reason): return reason
        }
    }

    /// Files changed under it: answers known so far are void.
    var voidsAnswers: Bool {
        if case .recycled = self { return false }
        if case .crashed = self { return false }
        return true
    }

    /// The interpreter is looked for again (a changed configuration may name another).
    var locatesPythonAgain: Bool {
        if case .outdated = self { return true }
        return false
    }
}

/// What mypy's `dmypy run` prints when it restarts its daemon ("Restarting: …"): our daemon
/// restarts its engine by itself, so it says so on the next `run`, as mypy's client would have.
/// Ordered as mypy's `cmd_run` tests them: the first that applies is the one it names.
enum RestartNotice: Int, Comparable {
    case configurationChanged
    case mypyVersionChanged
    case pluginsChanged

    /// mypy's words (`dmypy_server.cmd_run`).
    var reason: String {
        switch self {
        case .configurationChanged: return "configuration changed"
        case .mypyVersionChanged: return "mypy version changed"
        case .pluginsChanged: return "plugins changed"
        }
    }

    /// The lines mypy's client prints around its restart (`do_run`, `restart_server`).
    var text: String { "Restarting: \(reason)\nDaemon stopped\nDaemon started\n" }

    static func < (a: RestartNotice, b: RestartNotice) -> Bool { a.rawValue < b.rawValue }
}
