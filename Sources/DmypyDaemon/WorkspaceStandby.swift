import DmypyEngine
import DmypySystem
import DmypyWire

/// A fresh engine warming up in the background, to replace one that has aged (`EngineAging`).
final class StandbyEngine {
    let engine: EngineProcess
    let reason: String
    /// The request that builds the last build on it, and the change generation when it was sent.
    var buildID: Int?
    var build: CheckSchedule.Build?
    var generation = 0
    /// Its build's outcome, once it is warm.
    var outcome: RequestOutcome?

    init(engine: EngineProcess, reason: String) {
        self.engine = engine
        self.reason = reason
    }
}

/// Replacing an aged engine without making anyone wait: the new one is started beside it and
/// builds the last build while the old one keeps answering; every file change is passed to both;
/// when the new one is warm and the old one idle, they are swapped.
extension Workspace {
    func startStandby(reason: String) {
        guard standby == nil, case .ready = state, let build = schedule.lastBuild, let interpreter else { return }
        let engine: EngineProcess
        do {
            // It may load the cache slot too (a faster standby); no watchdog: the old one answers.
            engine = try launchEngine(interpreter.path, cache: cache.settings.root.map { CacheRequest(root: $0) })
        } catch {
            log.warning("Could not start a fresh engine to replace the aged one: \(error)")
            return
        }
        let standby = StandbyEngine(engine: engine, reason: reason)
        engine.onEvent = { [weak self, unowned standby] event in self?.handleStandby(event, standby) }
        let id = schedule.takeJobID()
        standby.buildID = id
        standby.build = build
        standby.generation = schedule.generation
        engine.send(.run(id: id, command: build.command, data: build.data))
        self.standby = standby
        log.info("Starting a fresh engine in the background: the current one has aged (\(reason))",
                 fields: ["ENGINE_PID": "\(engine.pid)"])
    }

    private func handleStandby(_ event: EngineProcess.Event, _ standby: StandbyEngine) {
        guard self.standby === standby else { return }
        switch event {
        case .reply(.started(let start)):
            if !start.ok { dropStandby(because: "mypy refused its options: \(start.err)") }
        case .reply(.finished(let id, let outcome)):
            guard id == standby.buildID else { return }
            guard outcome.succeeded else {
                dropStandby(because: "its build failed")
                return
            }
            standby.outcome = outcome
            swapInStandby()
            pump()
        case .exited(let termination, _):
            dropStandby(because: "it exited (\(termination.map { "\($0)" } ?? "unknown status"))")
        case .logLine(let line):
            log.debug("standby engine: \(line)")
        case .reply(.output), .reply(.options):
            break
        }
    }

    /// Swaps the warm standby in, if there is one and the current engine is idle.
    func swapInStandby() {
        guard let standby, let outcome = standby.outcome, schedule.current == nil, case .ready(let old) = state else { return }
        self.standby = nil
        old.terminate()
        let engine = standby.engine
        engine.onEvent = { [weak self, unowned engine] event in self?.handle(event, from: engine) }
        state = .ready(engine)
        engineStarts += 1
        engineRecycles += 1
        aging = EngineAging(maximumUpdates: maximumUpdates)
        files?.forgetGraph()
        let recorded = files?.apply(outcome)
        modulesInGraph = outcome.modules
        if let build = standby.build, recorded?.unwatchedWhileChecking.isEmpty == true {
            // Its build answers the last build's question as the files were when it began.
            schedule.keep(CachedAnswer(command: build.command, data: build.data, generation: standby.generation,
                                       response: withMetadata(outcome.response), output: []))
        }
        log.info("Replaced the aged engine with a fresh one", fields: ["OLD_ENGINE_PID": "\(old.pid)", "ENGINE_PID": "\(engine.pid)",
                                                                     "REASON": standby.reason])
        // Checked again if files changed meanwhile, if its answer is not backed by watches, or if it
        // took errors from a cache slot (those modules are then checked for real).
        if standby.generation != schedule.generation || recorded?.unwatchedWhileChecking.isEmpty != true
            || outcome.cacheLoad?.pending == true { preCheck() }
    }

    func dropStandby(because reason: String) {
        guard let standby else { return }
        self.standby = nil
        standby.engine.terminate()
        log.warning("Gave up the fresh engine: \(reason)")
    }
}
