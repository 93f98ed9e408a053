import DmypyEngine
import DmypySystem
import DmypyWire

/// Who wants a workspace's results as they are produced (`dmypy watch`, `dmypy lsp`), and the
/// editors' unsaved buffers that its engine checks instead of the files on disk.
///
/// A subscription is a waiter like any client's, submitted again after every settled change: it
/// shares the pre-check that the change queued when that is its build, is answered from memory
/// when nothing changed, and survives an engine crash as any waiting request does. Nothing polls;
/// each result is one frame on the subscriber's connection.
struct WorkspaceSubscribers {
    private(set) var subscriptions: [Subscription] = []
    /// Unsaved buffers by absolute path, replayed to every new engine.
    private(set) var buffers: [String: String] = [:]

    mutating func add(_ subscription: Subscription) {
        subscriptions.append(subscription)
    }

    mutating func remove(_ subscription: Subscription) {
        subscriptions.removeAll { $0 === subscription }
    }

    /// Drops subscriptions whose client hung up.
    mutating func pruned() -> [Subscription] {
        subscriptions.removeAll { !$0.isOpen }
        return subscriptions
    }

    /// Records a buffer (nil: dropped); returns whether anything changed.
    mutating func setBuffer(_ path: String, _ text: String?) -> Bool {
        guard buffers[path] != text else { return false }
        buffers[path] = text
        return true
    }

    /// What a new engine must be told before its first build.
    var replay: [EngineRequest] {
        buffers.keys.sorted().map { .overlay(path: $0, text: buffers[$0]) }
    }
}

/// One subscriber: a connection that gets every result of one build (command and fields).
final class Subscription: JobWaiter {
    let command: String
    let data: JSONObject
    private weak var connection: ClientConnection?
    /// Submitted and not yet answered.
    var isWaiting = false
    /// The files changed since the last result was sent.
    var changes: [String] = []
    /// When mypy began running the build for the next result.
    private var runningSince: Double?

    init(command: String, data: JSONObject, connection: ClientConnection) {
        self.command = command
        self.data = data
        self.connection = connection
    }

    var isOpen: Bool { connection?.isOpen == true }

    func jobOutput(key: String, text: String) {
        connection?.send([key: .string(text)])
    }

    func jobProgress(_ text: String) {
        if text.hasPrefix("checking") { runningSince = Clock.monotonic() }
        connection?.send([ProtocolExtensions.progress: .string(text)])
    }

    func jobFinished(_ response: JSONObject) {
        isWaiting = false
        let changed = changes
        changes = []
        let seconds = runningSince.map { Clock.monotonic() - $0 } ?? 0
        runningSince = nil
        connection?.send([ProtocolExtensions.result: .object(response),
                          ProtocolExtensions.changed: .array(changed.map { .string($0) }),
                          ProtocolExtensions.seconds: .double(seconds)])
    }
}

extension Workspace {
    func subscribe(_ subscription: Subscription) {
        subscribers.add(subscription)
        subscription.isWaiting = true
        submit(command: subscription.command, data: subscription.data, waiter: subscription)
    }

    func unsubscribe(_ subscription: Subscription) {
        subscribers.remove(subscription)
        detach(subscription)
    }

    /// Files changed (settled): every subscription not already waiting asks for its build again.
    /// Called after the change's pre-check is queued, so a subscription to that build joins it.
    func renewSubscriptions(changed paths: [String]) {
        for subscription in subscribers.pruned() {
            subscription.changes += paths.filter { !subscription.changes.contains($0) }
            guard !subscription.isWaiting else { continue }
            subscription.isWaiting = true
            submit(command: subscription.command, data: subscription.data, waiter: subscription)
        }
    }

    /// An editor's unsaved buffer for `path` (nil: closed, the file on disk counts again). Like a
    /// file change: answers known so far are void, the last build and the subscriptions run again.
    func setBuffer(path: String, text: String?) {
        // An editor's buffer event follows its writes (a save writes, then says so): they are
        // taken now, not after the watcher's settle, so a save is checked at once.
        takeFileChanges()
        guard subscribers.setBuffer(path, text) else { return }
        switch state {
        case .starting(let engine), .ready(let engine):
            engine.send(.overlay(path: path, text: text))
            standby?.engine.send(.overlay(path: path, text: text))
        case .stopped, .failed:
            break   // replayed when the engine starts
        }
        schedule.filesChanged()
        preCheck()
        renewSubscriptions(changed: [path])
    }
}
