import DmypyWire

/// The last answer mypy gave to a check, with what it printed meanwhile, and the change
/// generation it was computed at. While the generation has not moved (no file the build reads was
/// written since that check began) mypy would give the same answer again, so it is given from here.
struct CachedAnswer {
    let command: String
    let data: JSONObject
    let generation: Int
    let response: JSONObject
    let output: [EngineJob.Output]

    func answers(command: String, data: JSONObject, generation: Int) -> Bool {
        guard generation == self.generation else { return false }
        // Only the very same request: even a plain recheck prints differently from the check
        // before it (mypy counts every module it followed as a source of the recheck).
        return command == self.command && data == self.data
    }
}
