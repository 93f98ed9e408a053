import DmypyWire

/// Someone waiting for an engine job: a client connection, or nobody (a warm-up).
protocol JobWaiter: AnyObject {
    func jobOutput(key: String, text: String)
    /// What the job waits for now, for a person watching a terminal.
    func jobProgress(_ text: String)
    func jobFinished(_ response: JSONObject)
}

/// One command for the engine, with everyone waiting for its answer (nobody, for a pre-check).
/// Identical checks that arrive while one is queued, or running on unchanged files, share it.
final class EngineJob {
    let id: Int
    let command: String
    let data: JSONObject
    /// Equal keys mean interchangeable results (check/run/recheck with identical fields).
    let sharingKey: String?
    var waiters: [JobWaiter] = []
    var attempts = 0
    /// A replay of the last build on a new engine (it must not recycle the engine again).
    var isWarmUp = false
    /// The change generation when the engine began this job; nil while queued.
    var generation: Int?
    /// What mypy printed so far, for clients that join a job already running.
    var output: [Output] = []

    struct Output {
        let key: String
        let text: String
    }

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
