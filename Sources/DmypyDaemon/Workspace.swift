import DmypyEngine
import DmypySystem
import DmypyWatch
import DmypyWire
import Glibc

/// One project root with one set of mypy options, served by one supervised engine.
///
/// The engine is restarted when it dies; the request in flight is run again on the new engine
/// after the last build is replayed, so a client never sees a crash we recovered from. Three
/// crashes within a minute stop the retries and every waiting request gets an error naming the log.
///
/// Files are watched (`FileTracking`): each settled burst of writes bumps the change generation,
/// tells mypy which files to look at again, and queues a pre-check of the last build, so that the
/// answer is ready before it is asked for. A check asked for while the generation has not moved
/// since the last identical one began is answered from memory. A change to the configuration, a
/// plugin or mypy itself restarts the engine and warms it again.
final class Workspace {
    enum EngineState {
        case stopped
        case starting(EngineProcess)
        case ready(EngineProcess)
        case failed(String)
    }

    struct Settings {
        var directory: String
        var environment: [String]
        var flags: [String]
        var allowSources: Bool
        var stdoutTTY: Bool
        var stderrTTY: Bool
    }

    let settings: Settings
    private let loop: EventLoop
    let log: Log
    private let adapterPath: String
    private(set) var interpreter: PythonLocator.Interpreter?
    var state: EngineState = .stopped
    /// `platform` and `python_version`, added to every response as mypy's server does.
    private(set) var metadata: JSONObject = [:]
    /// Called once with the engine's answer to its first start (the `start` command's outcome).
    var onFirstStart: ((JSONObject) -> Void)?
    /// Called after each check with its exit status, seconds and mypy's summary line.
    var onCheckDone: ((_ status: Int?, _ seconds: Double, _ summary: String) -> Void)?

    var queue: [EngineJob] = []
    var current: EngineJob?
    private var nextJobID = 1
    var lastBuild: (command: String, data: JSONObject)?
    private var crashTimes: [Double] = []
    var engineStarts = 0
    var modulesInGraph = 0
    private(set) var lastCheckSeconds: Double?
    private(set) var lastCheckStatus: Int?

    var files: FileTracking?
    /// Bumped by every burst of file changes that matters to the build.
    var generation = 0
    var cachedAnswer: CachedAnswer?
    var answeredFromMemory = 0
    var preChecks = 0
    private(set) var engineRestarts = 0
    var reportedFallback = false
    /// The engine's resident size that makes it be recycled after a check.
    var memoryLimitMiB = Double.infinity
    /// How many updates an engine makes before it is replaced, when set (`DMYPY_RECYCLE_AFTER`).
    var maximumUpdates: Int?
    var aging = EngineAging()
    /// A fresh engine warming up to replace an aged one.
    var standby: StandbyEngine?
    var engineRecycles = 0
    var reportedOverflows = 0

    init(settings: Settings, loop: EventLoop, log: Log, adapterPath: String) {
        self.settings = settings
        self.loop = loop
        self.log = log
        self.adapterPath = adapterPath
    }

    var enginePID: pid_t? {
        switch state {
        case .starting(let e), .ready(let e): return e.pid
        default: return nil
        }
    }

    var isBusy: Bool { current != nil }

    // MARK: engine lifecycle

    /// Finds Python and starts the engine; the outcome reaches `onFirstStart`.
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
        let environment = Process.environmentDictionary(settings.environment)
        switch PythonLocator.locate(flags: settings.flags, environment: environment, directory: settings.directory) {
        case .failure(let error):
            fail("\(error)", status: 2)
        case .success(let interpreter):
            self.interpreter = interpreter
            spawnEngine()
        }
    }

    private func spawnEngine() {
        guard let interpreter else { return }
        do {
            let engine = try launchEngine(interpreter)
            engine.onEvent = { [weak self, unowned engine] event in self?.handle(event, from: engine) }
            state = .starting(engine)
            engineStarts += 1
            aging = EngineAging(maximumUpdates: maximumUpdates)
            log.info("Engine started", fields: ["ENGINE_PID": "\(engine.pid)", "PYTHON": interpreter.path, "MYPY_VERSION": interpreter.mypyVersion])
        } catch {
            fail("dmypy: could not start the engine \(interpreter.path): \(error)", status: 2)
        }
    }

    /// A new engine process for this workspace, already asked to start mypy with its flags.
    func launchEngine(_ interpreter: PythonLocator.Interpreter) throws(SystemError) -> EngineProcess {
        let engine = try EngineProcess(loop: loop, python: interpreter.path, adapterPath: adapterPath,
                                       directory: settings.directory, environment: settings.environment)
        engine.send([
            "op": "start",
            "flags": .array(settings.flags.map { .string($0) }),
            "allow_sources": .bool(settings.allowSources),
            "stdout_tty": .bool(settings.stdoutTTY),
            "stderr_tty": .bool(settings.stderrTTY),
        ])
        return engine
    }

    private func fail(_ message: String, status: Int) {
        dropStandby(because: "the workspace failed")
        state = .failed(message)
        log.error(message)
        if let report = onFirstStart {
            onFirstStart = nil
            report(["ok": .bool(false), "out": .string(""), "err": .string(message + "\n"), "status": .int(status)])
        }
        let everyone = (current.map { [$0] } ?? []) + queue
        current = nil
        queue.removeAll()
        for job in everyone {
            answer(job, ["error": .string(message)])
        }
    }

    func handle(_ event: EngineProcess.Event, from engine: EngineProcess) {
        switch event {
        case .started(let reply):
            if reply["ok"]?.boolValue == true {
                metadata = reply["metadata"]?.objectValue ?? [:]
                files?.setEngineFiles(restart: reply["restart_files"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                      config: reply["config_files"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                state = .ready(engine)
                if let report = onFirstStart {
                    onFirstStart = nil
                    report(reply)
                }
                pump()
            } else {
                // mypy refused its options (a bad flag or config): whoever started the workspace
                // is told exactly what mypy printed; requests already waiting get it as their error.
                let err = reply["err"]?.stringValue ?? ""
                if let report = onFirstStart {
                    onFirstStart = nil
                    report(reply)
                }
                var message = err.isEmpty ? "dmypy: mypy refused its options" : err
                while message.hasSuffix("\n") { message.removeLast() }
                fail(message, status: reply["status"]?.intValue ?? 2)
                engine.terminate()
            }
        case .options(let changed, let reason):
            if changed {
                restartEngine(reason: "a configuration file changed and \(reason)")
            } else {
                log.info("A configuration file changed; \(reason): the engine keeps its build")
            }
        case .output(let id, let key, let text):
            guard let job = current, job.id == id else { return }
            job.output.append(EngineJob.Output(key: key, text: text))
            for waiter in job.waiters { waiter.jobOutput(key: key, text: text) }
        case .finished(let id, let reply):
            guard let job = current, job.id == id else { return }
            finished(job, reply: reply, engine: engine)
        case .logLine(let line):
            log.debug("engine: \(line)")
        case .exited(let termination, let tail):
            engineExited(engine, termination: termination, tail: tail)
        }
    }

    private func finished(_ job: EngineJob, reply: JSONObject, engine: EngineProcess) {
        current = nil
        var response = reply["response"]?.objectValue ?? ["error": .string("The engine sent no response")]
        if reply["crashed"]?.boolValue == true {
            // mypy raised inside its update: its in-memory state can no longer be trusted.
            let text = response["error"]?.stringValue ?? ""
            log.error("mypy crashed while running '\(job.command)'; restarting the engine", fields: ["TRACEBACK": text])
            current = job
            engine.terminate()
            recover(crashText: text)
            return
        }
        if let modules = reply["modules"]?.intValue { modulesInGraph = modules }
        files?.apply(reply: reply)
        let succeeded = response["error"] == nil && response["restart"] == nil
        let isUpdate = job.buildsState && succeeded && !job.isWarmUp && lastBuild != nil
        if job.buildsState, succeeded {
            lastBuild = (job.command, job.data)
            files?.noteBuild(command: job.command, data: job.data)
        }
        if job.buildsState || job.command == "recheck", let seconds = reply["seconds"], case .double(let s) = seconds {
            lastCheckSeconds = s
            lastCheckStatus = response["status"]?.intValue
            let out = response["out"]?.stringValue ?? ""
            let summary = out.split(separator: "\n").last.map(String.init) ?? ""
            log.info("Check done: \(summary)", fields: ["COMMAND": job.command, "SECONDS": PythonRepr.float((s * 1000).rounded() / 1000),
                                                     "STATUS": "\(lastCheckStatus ?? -1)", "MODULES": "\(modulesInGraph)",
                                                     "DIRECTORY": settings.directory])
            onCheckDone?(lastCheckStatus, s, summary)
        }
        response.merge(metadata)
        if job.sharingKey != nil, succeeded, let started = job.generation {
            cachedAnswer = CachedAnswer(command: job.command, data: job.data, generation: started,
                                        response: response, output: job.output)
            if started == generation { files?.checkedEverything() }
        }
        answer(job, response)
        if job.buildsState, !job.isWarmUp, let pid = enginePID, let memory = ProcessMemory(pid: pid),
           memory.rssMiB > memoryLimitMiB {
            restartEngine(reason: "it uses \(Int(memory.rssMiB)) MiB, over the limit of \(Int(memoryLimitMiB)) MiB (\(DaemonConfiguration.memoryLimitVariable))",
                          filesChanged: false)
            return
        }
        if isUpdate, case .double(let seconds)? = reply["seconds"], let reason = aging.record(seconds: seconds) {
            startStandby(reason: reason)
        }
        swapInStandby()
        pump()
    }

    private func engineExited(_ engine: EngineProcess, termination: Process.Termination?, tail: String) {
        guard case .starting(let e) = state, e === engine else {
            guard case .ready(let e) = state, e === engine else { return }
            log.error("Engine \(termination.map { "\($0)" } ?? "exited"); restarting it", fields: ["ENGINE_OUTPUT": tail])
            recover(crashText: "The engine \(termination.map { "\($0)" } ?? "exited")\n\(tail)")
            return
        }
        // It died before it could even start: nothing to retry.
        let message = "dmypy: the engine exited while starting (\(termination.map { "\($0)" } ?? "unknown status")):\n\(tail)"
        fail(message, status: 2)
    }

    /// Restarts the engine after a crash, replays the last build, and runs the interrupted job again.
    private func recover(crashText: String) {
        dropStandby(because: "the current engine crashed; a new one is started anyway")
        let now = Clock.monotonic()
        crashTimes = crashTimes.filter { now - $0 < 60 } + [now]
        state = .stopped
        if let job = current {
            current = nil
            job.attempts += 1
            if job.attempts >= 2 {
                // The same request crashed mypy twice: it is mypy's answer, not bad luck.
                var response: JSONObject = ["error": .string(crashText.hasPrefix("Daemon crashed!") ? crashText : "Daemon crashed!\n" + crashText)]
                response.merge(metadata)
                answer(job, response)
            } else {
                queue.insert(job, at: 0)
            }
        }
        if crashTimes.count >= 3 {
            fail("dmypy: the engine crashed \(crashTimes.count) times within a minute; not restarting it. See the daemon's log (journalctl -t dmypy, or the --log-file) for the tracebacks.", status: 2)
            return
        }
        queueWarmUp()
        files?.forgetGraph()
        tellWaiters("mypy crashed; restarting the engine and checking again")
        spawnEngine()
    }

    /// Before anything else, the new engine builds what the old one had built.
    private func queueWarmUp() {
        if let build = lastBuild, !(queue.first.map { $0.buildsState } ?? false) {
            let warmup = EngineJob(id: takeJobID(), command: build.command, data: build.data)
            warmup.isWarmUp = true
            queue.insert(warmup, at: 0)
        }
    }

    /// Replaces the engine with a fresh one (its configuration changed), keeping every request:
    /// the one in flight runs again on the new engine, after the last build is replayed.
    /// With `filesChanged` false (a recycle), answers already known stay good.
    func restartEngine(reason: String, filesChanged: Bool = true) {
        dropStandby(because: "the engine is restarted anyway")
        log.info("Restarting the engine: \(reason)")
        tellWaiters("restarting the engine: \(reason)")
        engineRestarts += 1
        if filesChanged {
            generation += 1
            cachedAnswer = nil
        }
        switch state {
        case .starting(let engine), .ready(let engine):
            state = .stopped   // its exit is not a crash
            engine.terminate()
        case .stopped, .failed:
            state = .stopped
        }
        if let job = current {
            current = nil
            job.generation = nil
            job.output = []
            queue.insert(job, at: 0)
        }
        queueWarmUp()
        files?.forgetGraph()
        start()
    }

    // MARK: jobs

    func takeJobID() -> Int {
        defer { nextJobID += 1 }
        return nextJobID
    }

    /// Queues a command for the engine. A check whose answer is known is answered at once; an
    /// identical one already waiting in the queue, or running on unchanged files, is shared.
    func submit(command: String, data: JSONObject, waiter: JobWaiter) {
        takeFileChanges()
        if let cached = cachedAnswer, files?.isReliable == true,
           cached.answers(command: command, data: data, generation: generation) {
            answeredFromMemory += 1
            for output in cached.output { waiter.jobOutput(key: output.key, text: output.text) }
            waiter.jobFinished(cached.response)
            return
        }
        if case .failed(let message) = state {
            var response: JSONObject = ["error": .string(message)]
            response.merge(metadata)
            waiter.jobFinished(response)
            return
        }
        let job = EngineJob(id: takeJobID(), command: command, data: data)
        if let key = job.sharingKey, let running = current, running.sharingKey == key, running.generation == generation {
            for output in running.output { waiter.jobOutput(key: output.key, text: output.text) }
            running.waiters.append(waiter)
            waiter.jobProgress(runningText(running))
            return
        }
        if let key = job.sharingKey, let queued = queue.first(where: { $0.sharingKey == key }) {
            queued.waiters.append(waiter)
            waiter.jobProgress(waitingText(queued))
            return
        }
        job.waiters.append(waiter)
        queue.append(job)
        pump()
        if current !== job { waiter.jobProgress(waitingText(job)) }
    }

    /// A client went away: it no longer waits for anything (the job itself still runs).
    func detach(_ waiter: JobWaiter) {
        current?.waiters.removeAll { $0 === waiter }
        for job in queue { job.waiters.removeAll { $0 === waiter } }
    }

    func pump() {
        guard current == nil, case .ready(let engine) = state, !queue.isEmpty else { return }
        let job = queue.removeFirst()
        current = job
        job.generation = generation
        for waiter in job.waiters { waiter.jobProgress(runningText(job)) }
        engine.send(["op": "request", "id": .int(job.id), "command": .string(job.command), "data": .object(job.data)])
    }

    private func answer(_ job: EngineJob, _ response: JSONObject) {
        let waiters = job.waiters
        job.waiters.removeAll()
        for waiter in waiters { waiter.jobFinished(response) }
    }

    /// Stops the engine and the watcher, and answers whatever still waits.
    func shutdown(reason: String) {
        dropStandby(because: "the workspace is shutting down")
        files?.close()
        let everyone = (current.map { [$0] } ?? []) + queue
        current = nil
        queue.removeAll()
        for job in everyone {
            var response: JSONObject = ["error": .string(reason)]
            response.merge(metadata)
            answer(job, response)
        }
        switch state {
        case .starting(let engine), .ready(let engine): engine.terminate()
        default: break
        }
        state = .stopped
    }
}
