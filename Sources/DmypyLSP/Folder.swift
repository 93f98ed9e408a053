import DmypyClient
import DmypySystem
import DmypyWire

/// One workspace folder: its daemon workspace (the project daemon or the user daemon's, found or
/// started as `dmypy run` does), the subscription to its build, and the diagnostics it last had.
final class Folder {
    let path: String
    let client: Client
    let flags: [String]
    private(set) var subscription: BuildSubscription?
    var link: SubscriptionLink?
    /// mypy's diagnostics by absolute file path, as last published.
    var diagnostics: [String: [JSON]] = [:]
    /// A result is on its way (files changed, the engine restarted).
    var checking = false
    var restarted = false

    /// What every check of a folder adds to the user's flags: mypy's JSON records (with the end
    /// of each error) and absolute paths, nothing else on stdout.
    static let outputFlags = ["--output", "json", "--show-error-end", "--show-absolute-path", "--no-error-summary",
                              "--no-pretty", "--no-color-output"]

    init(path: String, environment: [String: String], userFlags: [String], targets: [String]?) {
        self.path = path
        let context = ClientContext(programName: "dmypy", environment: environment, directory: path)
        client = Client(context: context, statusFile: path + "/.dmypy.json")
        flags = userFlags + Folder.outputFlags + (targets ?? ["."])
    }

    /// Finds or starts the daemon; blocks while a daemon starts (its output goes to stderr).
    func prepare() throws(ClientExit) -> BuildSubscription {
        let prepared = try BuildSubscription.prepare(client, flags: flags, exportTypes: true, isTTY: false, terminalWidth: 80)
        subscription = prepared
        return prepared
    }

    func restartDaemon() throws(ClientExit) {
        try client.restart(logFile: nil, timeout: nil, flags: flags, allowSources: true)
    }

    func contains(_ file: String) -> Bool {
        file == path || file.hasPrefix(path == "/" ? "/" : path + "/")
    }

    /// A request to this folder's daemon workspace.
    func request(_ command: String, _ fields: JSONObject) -> JSONObject {
        var request = subscription?.routing ?? [:]
        request.merge(fields)
        request["command"] = .string(command)
        return request
    }
}
