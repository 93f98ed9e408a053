import DmypyEngine
import DmypySystem
import DmypyWatch
import DmypyWire

/// A workspace's engine from start to end: finding Python (on the loop), starting the engine,
/// its events, and one way to replace it whatever the cause.
extension Workspace {
    /// Finds Python and starts the engine; the outcome reaches `onFirstStart`. The engine is its
    /// own probe: each candidate interpreter in turn is started as the engine, and one that cannot
    /// import mypy says so (or dies) before its start reply, so the next is tried. Nothing waits,
    /// and no separate interpreter start stands before mypy's build.
    func start() {
        if files == nil {
            do {
                let files = try FileTracking(loop: loop, directory: settings.directory)
                files.watcher.onBatch = { [weak self] batch in self?.filesChanged(batch) }
                self.files = files
            } catch {
                log.warning("Cannot watch files (\(error)); every check will stat the build as mypy does")
            }
        }
        stopEngine()
        interpreter = nil
        candidates = PythonCandidates(PythonLocator.candidates(flags: settings.flags,
                                                               environment: Process.environmentDictionary(settings.environment),
                                                               directory: settings.directory))
        tryNextCandidate()
    }

    /// Starts the engine under the next candidate that exists, or fails naming every attempt.
    private func tryNextCandidate() {
        while let python = candidates.next() {
            guard FileSystem.exists(python) else {
                candidates.passOver(python, "not found")
                continue
            }
            spawnEngine(python: python)
            return
        }
        fail(.noPython(NoPythonWithMypy(attempts: candidates.attempts)))
    }

    /// A new engine under the confirmed interpreter (after a crash), or under a candidate.
    func spawnEngine(python: String? = nil) {
        guard let path = python ?? interpreter?.path else { return }
        do {
            let engine = try launchEngine(path, cache: cacheRequestForStart())
            engine.onEvent = { [weak self, unowned engine] event in self?.handle(event, from: engine) }
            state = .starting(engine)
            engineStarts += 1
            aging = EngineAging(maximumUpdates: maximumUpdates)
            log.info("Engine started", fields: ["ENGINE_PID": "\(engine.pid)", "PYTHON": path])
        } catch {
            if python != nil {
                candidates.passOver(path, "could not be run (\(error))")
                tryNextCandidate()
            } else {
                fail(.cannotSpawn(python: path, error))
            }
        }
    }

    /// A new engine process for this workspace, already asked to start mypy with its flags.
    func launchEngine(_ python: String, cache: CacheRequest?) throws(SystemError) -> EngineProcess {
        let engine = try EngineProcess(loop: loop, python: python, adapterPath: adapterPath,
                                       directory: settings.directory, environment: settings.environment)
        engine.send(.start(flags: settings.flags, allowSources: settings.allowSources,
                           stdoutTTY: settings.stdoutTTY, stderrTTY: settings.stderrTTY, cache: cache))
        for overlay in subscribers.replay { engine.send(overlay) }   // editors' unsaved buffers
        return engine
    }

    func fail(_ failure: WorkspaceFailure) {
        dropStandby(because: "the workspace failed")
        stopEngine()
        state = .failed(failure)
        log.error(failure.message)
        reportFirstStart(EngineStart(ok: false, err: failure.message + "\n", status: failure.status))
        for job in schedule.removeAll() {
            answer(job, ["error": .string(failure.message)])
        }
    }

    private func reportFirstStart(_ start: EngineStart) {
        guard let report = onFirstStart else { return }
        onFirstStart = nil
        report(start)
    }

    func handle(_ event: EngineProcess.Event, from engine: EngineProcess) {
        switch event {
        case .reply(.started(let start)):
            if let missing = start.missingMypy, interpreter == nil, let python = candidates.current {
                engine.terminate()
                candidates.passOver(python, missing)
                tryNextCandidate()
                return
            }
            if interpreter == nil, let python = candidates.current {
                interpreter = PythonLocator.Interpreter(path: python, mypyVersion: start.mypyVersion ?? "")
                log.info("Engine runs mypy \(start.mypyVersion ?? "")", fields: ["PYTHON": python])
            }
            guard start.ok else {
                // mypy refused its options (a bad flag or config): whoever started the workspace
                // is told exactly what mypy printed; requests already waiting get it as their error.
                reportFirstStart(start)
                fail(.optionsRefused(message: start.err, status: start.status))
                return
            }
            metadata = start.metadata
            cacheEngineStarted(start.cache)
            state = .ready(engine)
            // The starter hears first; the watches go up in this same callback, before any request
            // reaches the engine (a warm start's evidence is watched before the load reads it).
            reportFirstStart(start)
            files?.setEngineFiles(start)
            pump()
        case .reply(.options(let changed, let reason)):
            if changed {
                replaceEngine(.outdated("a configuration file changed and \(reason)", notice: .configurationChanged))
            } else {
                log.info("A configuration file changed; \(reason): the engine keeps its build")
            }
        case .reply(.output(let id, let stream, let text)):
            guard let job = schedule.current, job.id == id else { return }
            job.output.append(EngineJob.Output(key: stream.rawValue, text: text))
            for waiter in job.waiters { waiter.jobOutput(key: stream.rawValue, text: text) }
        case .reply(.finished(let id, let outcome)):
            guard let job = schedule.current, job.id == id else { return }
            finished(job, outcome, engine: engine)
        case .logLine(let line):
            log.engineOutput(line)
        case .exited(let termination, let tail):
            engineExited(engine, termination: termination, tail: tail)
        }
    }

    private func engineExited(_ engine: EngineProcess, termination: Process.Termination?, tail: String) {
        switch state {
        case .starting(let e) where e === engine && interpreter == nil:
            // A candidate that is not a Python able to start the adapter: the next one.
            if let python = candidates.current {
                candidates.passOver(python, termination.map { "\($0)" } ?? "exited")
                tryNextCandidate()
            }
        case .starting(let e) where e === engine:
            // It died before it could even start: nothing to retry.
            fail(.diedWhileStarting(termination, tail: tail))
        case .ready(let e) where e === engine:
            let how = termination.map { "\($0)" } ?? "exited"
            log.error("Engine \(how); restarting it", fields: ["ENGINE_OUTPUT": tail])
            replaceEngine(.crashed("The engine \(how)\n\(tail)"))
        default:
            break
        }
    }

    /// Replaces the engine with a fresh one, keeping every request: the one in flight runs again
    /// on the new engine after the last build is replayed. The cause decides the rest: a crash
    /// counts towards giving up, outdated options look for Python again and leave a notice for
    /// the next `run`, and every cause but a crash or a recycle voids the answers known so far.
    func replaceEngine(_ cause: EngineReplacement) {
        dropStandby(because: "the engine is replaced anyway")
        let crashed: Bool
        if case .crashed = cause { crashed = true } else { crashed = false }
        if crashed {
            let now = Clock.monotonic()
            crashTimes = crashTimes.filter { now - $0 < 60 } + [now]
        } else {
            engineRestarts += 1
            log.info("Restarting the engine: \(cause.reason)")
        }
        if case .outdated(_, let notice?) = cause {
            // A `run` waiting now hears it before its answer; otherwise the next `run` does.
            let runWaiters = schedule.jobs.filter { $0.command == "run" }.flatMap(\.waiters)
            if runWaiters.isEmpty {
                restartNotice = min(restartNotice ?? notice, notice)
            } else {
                for waiter in runWaiters { waiter.jobOutput(key: "stdout", text: notice.text) }
            }
        }
        if crashed, cache.loading {
            cache.refuseNextLoad = "the engine crashed while loading it; it was discarded"
            cache.loading = false
        }
        stopEngine()
        if let givenUp = schedule.engineReplaced(crashed: crashed, voidAnswers: cause.voidsAnswers) {
            let text = { if case .crashed(let text) = cause { return text } else { return "" } }()
            answer(givenUp, withMetadata(["error": .string(text.hasPrefix("Daemon crashed!") ? text : "Daemon crashed!\n" + text)]))
        }
        if crashed, crashTimes.count >= 3 {
            fail(.crashLoop(crashes: crashTimes.count))
            return
        }
        files?.forgetGraph()
        tellWaiters(crashed ? "mypy crashed; restarting the engine and checking again" : "restarting the engine: \(cause.reason)")
        if cause.locatesPythonAgain || interpreter == nil {
            start()
        } else {
            spawnEngine()
        }
    }
}

/// The interpreters a workspace may run its engine with, in order, and why each one tried was
/// passed over (for the message that names them all when none can run mypy).
struct PythonCandidates {
    private var remaining: [String] = []
    /// The one being tried now.
    private(set) var current: String?
    private(set) var attempts: [PythonLocator.Attempt] = []

    init(_ candidates: [String] = []) {
        remaining = candidates
    }

    mutating func next() -> String? {
        current = remaining.isEmpty ? nil : remaining.removeFirst()
        return current
    }

    mutating func passOver(_ python: String, _ reason: String) {
        attempts.append(PythonLocator.Attempt(path: python, reason: reason))
    }
}
