import DmypySystem
import DmypyWire
import Glibc

/// A client that stays: the daemon for a directory (started as `dmypy run` starts it, or the user
/// daemon), and the `run` request that subscribes to that build's results. Shared by `dmypy watch`
/// and `dmypy lsp`.
public struct BuildSubscription {
    public let connectionName: String
    /// What every request must carry for a user daemon to know whose it is (empty otherwise).
    public let routing: JSONObject
    /// The subscribing request: mypy's `run` fields plus ours.
    public let request: JSONObject

    /// Finds or starts the daemon for `client`'s directory, exactly as `run` would with `flags`.
    /// What starting prints (mypy's "Daemon started") goes where `Console` writes.
    public static func prepare(_ client: Client, flags: [String], exportTypes: Bool, isTTY: Bool, terminalWidth: Int) throws(ClientExit) -> BuildSubscription {
        let context = client.context
        if !client.isRunning && DaemonTarget.userSocket(context) == nil {
            try client.startServer(logFile: nil, timeout: nil, flags: flags, allowSources: true)
        }
        let target: DaemonTarget
        do {
            target = try DaemonTarget.find(statusFile: client.statusFile, context: context)
        } catch {
            throw Console.fail(error.message)
        }
        var request = target.routingFields(context)
        let routing = request
        request["command"] = "run"
        request["args"] = .array(flags.map { .string($0) })
        request["export_types"] = .bool(exportTypes)
        request["version"] = ""
        request[ProtocolExtensions.ourClient] = true
        request["is_tty"] = .bool(isTTY)
        request["terminal_width"] = .int(terminalWidth)
        request[ProtocolExtensions.subscribe] = true
        return BuildSubscription(connectionName: target.connectionName, routing: routing, request: request)
    }
}

/// One result of a subscribed build.
public struct BuildResult {
    /// mypy's response to the build (`out`, `err`, `status`, or `error`).
    public var response: JSONObject
    /// The files whose change caused it (empty for the first).
    public var changed: [String]
    /// How long mypy ran for it.
    public var seconds: Double

    init?(_ frame: JSONObject) {
        guard let response = frame[ProtocolExtensions.result]?.objectValue else { return nil }
        self.response = response
        changed = frame[ProtocolExtensions.changed]?.arrayValue?.compactMap(\.stringValue) ?? []
        seconds = CheckOutput.doubleValue(frame[ProtocolExtensions.seconds] ?? .null) ?? 0
    }

    public var out: String { response["out"].map(PythonRepr.str) ?? "" }
    public var err: String { response["err"].map(PythonRepr.str) ?? "" }
    public var error: String? { response["error"].map(PythonRepr.str) }
    public var status: Int { response["status"]?.intValue ?? (error == nil ? 0 : 2) }
    /// mypy asks for a restart (its options or version changed), as it answers `run`.
    public var restart: String? { response["restart"].map(PythonRepr.str) }
}

/// What arrives on a subscription's connection, decoded once.
public enum SubscriptionEvent {
    case progress(String)
    case output(stream: String, text: String)
    case result(BuildResult)
    /// A final frame: the daemon refused the subscription (or is not ours).
    case refused(JSONObject)
}

extension SubscriptionEvent {
    public init?(_ frame: JSONObject) {
        if frame["final"]?.isTruthy == true {
            self = .refused(frame)
        } else if let result = BuildResult(frame) {
            self = .result(result)
        } else if let text = frame[ProtocolExtensions.progress]?.stringValue {
            self = .progress(text)
        } else if let text = frame["stdout"]?.stringValue {
            self = .output(stream: "stdout", text: text)
        } else if let text = frame["stderr"]?.stringValue {
            self = .output(stream: "stderr", text: text)
        } else {
            return nil
        }
    }
}

/// A blocking subscription connection: one request sent, then events as the daemon pushes them.
/// Reading blocks in the kernel until a frame arrives; nothing wakes up in between.
final class SubscriptionStream {
    private let fd: FileDescriptor
    private var decoder = FrameDecoder(maximumSize: Int(UInt32.max))

    init(_ subscription: BuildSubscription) throws(SystemError) {
        fd = try UnixSocket.connect(path: subscription.connectionName)
        do {
            try UnixSocket.sendAll(fd, Frame.encode(subscription.request))
        } catch {
            fd.close()
            throw error
        }
    }

    deinit { fd.close() }

    /// The next event; nil when the daemon closed the connection.
    func next() throws -> SubscriptionEvent? {
        while true {
            if let frame = try decoder.nextObject() {
                if let event = SubscriptionEvent(frame) { return event }
                continue
            }
            guard case .done(let bytes) = try fd.read(), !bytes.isEmpty else { return nil }
            decoder.append(bytes)
        }
    }
}
