import DmypyWire

/// Someone waiting for an engine job: a client connection, or nobody (a warm-up).
protocol JobWaiter: AnyObject {
    func jobOutput(key: String, text: String)
    func jobFinished(_ response: JSONObject)
}

/// One command for the engine, with everyone waiting for its answer. Identical checks that arrive
/// while one is queued share it.
final class EngineJob {
    let id: Int
    let command: String
    let data: JSONObject
    /// Equal keys mean interchangeable results (check/run/recheck with identical fields).
    let sharingKey: String?
    var waiters: [JobWaiter] = []
    var attempts = 0

    init(id: Int, command: String, data: JSONObject) {
        self.id = id
        self.command = command
        self.data = data
        sharingKey = EngineJob.shareable.contains(command)
            ? command + "\u{0}" + JSON.object(data).serialized()
            : nil
    }

    static let shareable: Set<String> = ["check", "run", "recheck"]

    /// Commands whose success leaves mypy with a build that later commands rely on.
    var buildsState: Bool { command == "check" || command == "run" }
}
