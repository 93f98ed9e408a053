import DmypyEngine
import DmypySystem
import DmypyWire
import Glibc

/// One project root with one set of mypy options, served by one supervised engine.
///
/// The engine is restarted when it dies; the request in flight is run again on the new engine
/// after the last build is replayed, so a client never sees a crash we recovered from. Three
/// crashes within a minute stop the retries and every waiting request gets an error naming the log.
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
    private let log: Log
    private let adapterPath: String
    private(set) var interpreter: PythonLocator.Interpreter?
    private(set) var state: EngineState = .stopped
    /// `platform` and `python_version`, added to every response as mypy's server does.
    private(set) var metadata: JSONObject = [:]
    /// Called once with the engine's answer to its first start (the `start` command's outcome).
    var onFirstStart: ((JSONObject) -> Void)?

    private var queue: [EngineJob] = []
    private var current: EngineJob?
    private var nextJobID = 1
    private var lastBuild: (command: String, data: JSONObject)?
    private var crashTimes: [Double] = []
    private(set) var engineStarts = 0
    private(set) var modulesInGraph = 0
    private(set) var lastCheckSeconds: Double?
    private(set) var lastCheckStatus: Int?

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
            let engine = try EngineProcess(loop: loop, python: interpreter.path, adapterPath: adapterPath,
                                           directory: settings.directory, environment: settings.environment)
            engine.onEvent = { [weak self, unowned engine] event in self?.handle(event, from: engine) }
            state = .starting(engine)
            engineStarts += 1
            engine.send([
                "op": "start",
                "flags": .array(settings.flags.map { .string($0) }),
                "allow_sources": .bool(settings.allowSources),
                "stdout_tty": .bool(settings.stdoutTTY),
                "stderr_tty": .bool(settings.stderrTTY),
            ])
            log.info("Engine started", fields: ["ENGINE_PID": "\(engine.pid)", "PYTHON": interpreter.path, "MYPY_VERSION": interpreter.mypyVersion])
        } catch {
            fail("dmypy: could not start the engine \(interpreter.path): \(error)", status: 2)
        }
    }

    private func fail(_ message: String, status: Int) {
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

    private func handle(_ event: EngineProcess.Event, from engine: EngineProcess) {
        switch event {
        case .started(let reply):
            if reply["ok"]?.boolValue == true {
                metadata = reply["metadata"]?.objectValue ?? [:]
                state = .ready(engine)
                if let report = onFirstStart {
                    onFirstStart = nil
                    report(reply)
                }
                pump()
            } else {
                let err = reply["err"]?.stringValue ?? ""
                if let report = onFirstStart {
                    onFirstStart = nil
                    state = .failed(err)
                    report(reply)
                } else {
                    fail("dmypy: the engine refused mypy's flags on restart: \(err)", status: 2)
                }
                engine.terminate()
            }
        case .output(let id, let key, let text):
            guard let job = current, job.id == id else { return }
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
        if job.buildsState, response["error"] == nil, response["restart"] == nil {
            lastBuild = (job.command, job.data)
        }
        if job.buildsState || job.command == "recheck", let seconds = reply["seconds"], case .double(let s) = seconds {
            lastCheckSeconds = s
            lastCheckStatus = response["status"]?.intValue
            log.info("Check done", fields: ["COMMAND": job.command, "SECONDS": PythonRepr.float((s * 1000).rounded() / 1000),
                                            "STATUS": "\(lastCheckStatus ?? -1)", "MODULES": "\(modulesInGraph)"])
        }
        response.merge(metadata)
        answer(job, response)
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
        if let build = lastBuild, !(queue.first.map { $0.buildsState } ?? false) {
            let warmup = EngineJob(id: takeJobID(), command: build.command, data: build.data)
            queue.insert(warmup, at: 0)
        }
        spawnEngine()
    }

    // MARK: jobs

    private func takeJobID() -> Int {
        defer { nextJobID += 1 }
        return nextJobID
    }

    /// Queues a command for the engine. An identical check already waiting in the queue is shared.
    func submit(command: String, data: JSONObject, waiter: JobWaiter) {
        if case .failed(let message) = state {
            var response: JSONObject = ["error": .string(message)]
            response.merge(metadata)
            waiter.jobFinished(response)
            return
        }
        let job = EngineJob(id: takeJobID(), command: command, data: data)
        if let key = job.sharingKey, let queued = queue.first(where: { $0.sharingKey == key }) {
            queued.waiters.append(waiter)
            return
        }
        job.waiters.append(waiter)
        queue.append(job)
        pump()
    }

    /// A client went away: it no longer waits for anything (the job itself still runs).
    func detach(_ waiter: JobWaiter) {
        current?.waiters.removeAll { $0 === waiter }
        for job in queue { job.waiters.removeAll { $0 === waiter } }
    }

    private func pump() {
        guard current == nil, case .ready(let engine) = state, !queue.isEmpty else { return }
        let job = queue.removeFirst()
        current = job
        engine.send(["op": "request", "id": .int(job.id), "command": .string(job.command), "data": .object(job.data)])
    }

    private func answer(_ job: EngineJob, _ response: JSONObject) {
        let waiters = job.waiters
        job.waiters.removeAll()
        for waiter in waiters { waiter.jobFinished(response) }
    }

    /// Stops the engine and answers whatever still waits.
    func shutdown(reason: String) {
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

    /// The engine process's memory, as mypy's `status` reports its own.
    func memory() -> JSONObject {
        guard let pid = enginePID, let memory = ProcessMemory(pid: pid) else { return [:] }
        return [
            "memory_rss_mib": .double(memory.rssMiB),
            "memory_vms_mib": .double(memory.vmsMiB),
            "memory_maxrss_mib": .double(memory.maxRSSMiB),
        ]
    }
}
