import DmypySystem
import DmypyWire
import Glibc

/// Which daemon a command talks to, looked for in this order:
/// 1. the status file (`.dmypy.json` or `--status-file`) naming a live daemon: mypy's daemon for
///    this directory, ours or mypy's own;
/// 2. `DMYPY_SOCKET`, then `$XDG_RUNTIME_DIR/dmypy.sock`: the user daemon that systemd starts on
///    demand, serving every project of the user, each in its own workspace chosen by directory.
enum DaemonTarget {
    case project(pid: pid_t, connectionName: String)
    case user(socket: String)

    /// The user daemon's socket, when there is one to try.
    static func userSocket(_ context: ClientContext) -> String? {
        if let explicit = context.environment["DMYPY_SOCKET"], !explicit.isEmpty { return explicit }
        if let runtime = context.environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            let path = runtime + "/dmypy.sock"
            if FileSystem.isSocket(path) { return path }
        }
        return nil
    }

    /// The daemon to talk to, or mypy's error about the status file when there is none.
    static func find(statusFile: String, context: ClientContext) throws(BadStatus) -> DaemonTarget {
        do {
            let status = try StatusFileReader.status(statusFile)
            return .project(pid: status.pid, connectionName: status.connectionName)
        } catch {
            guard let socket = userSocket(context) else { throw error }
            return .user(socket: socket)
        }
    }

    var connectionName: String {
        switch self {
        case .project(_, let name): return name
        case .user(let socket): return socket
        }
    }

    /// The fields a user daemon needs on every request to know whose it is.
    func routingFields(_ context: ClientContext) -> JSONObject {
        guard case .user = self else { return [:] }
        return [
            ProtocolExtensions.workingDirectory: .string(context.directory),
            ProtocolExtensions.environment: .array(context.environment.sorted { $0.key < $1.key }.map { .string("\($0.key)=\($0.value)") }),
        ]
    }
}
