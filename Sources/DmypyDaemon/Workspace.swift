import DmypyEngine
import DmypySystem
import DmypyWatch
import DmypyWire
import Glibc

/// One project root with one set of mypy options, served by one supervised engine.
///
/// The shape: `Workspace` is the shell. It owns the engine process (`EngineState`), the file
/// tracking (`FileTracking`) and the schedule (`CheckSchedule`, a value that takes events and
/// returns decisions), and performs what they decide: sending jobs to the engine, answering
/// waiters, replacing the engine (`replaceEngine`, one sequence for every cause).
///
/// The engine is restarted when it dies; the request in flight is run again on the new engine
/// after the last build is replayed, so a client never sees a crash we recovered from. Three
/// crashes within a minute stop the retries and every waiting request gets an error naming the log.
///
/// Files are watched: each settled burst of writes bumps the change generation, tells mypy which
/// files to look at again, and queues a pre-check of the last build, so that the answer is ready
/// before it is asked for. A check is answered from memory only with positive evidence: the
/// generation has not moved since the identical check began, and everything mypy looked at for it
/// is under a live watch (`FileTracking.hasEvidence`). A change to the configuration, a plugin or
/// mypy itself restarts the engine and warms it again; the next `run` prints mypy's restart lines.
final class Workspace {
    enum EngineState {
        case stopped
        /// Started, not yet answered its start (also while it is the probe of a candidate Python).
        case starting(EngineProcess)
        case ready(EngineProcess)
        case failed(WorkspaceFailure)
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
    let loop: EventLoop
    let log: Log
    let adapterPath: String
    /// The Python that runs the engine, once an engine started under it has said it runs mypy.
    var interpreter: PythonLocator.Interpreter?
    /// The interpreters still to try, and why the ones tried were passed over.
    var candidates = PythonCandidates()
    var state: EngineState = .stopped
    /// `platform` and `python_version`, added to every response as mypy's server does.
    var metadata: JSONObject = [:]
    /// Called once with the engine's answer to its first start (the `start` command's outcome).
    var onFirstStart: ((EngineStart) -> Void)?
    /// Called after each check with its exit status, seconds and mypy's summary line.
    var onCheckDone: ((_ status: Int?, _ seconds: Double, _ summary: String) -> Void)?

    var schedule = CheckSchedule()
    var crashTimes: [Double] = []
    var engineStarts = 0
    var modulesInGraph = 0
    private(set) var lastCheckSeconds: Double?
    private(set) var lastCheckStatus: Int?

    var files: FileTracking?
    var answeredFromMemory = 0
    var preChecks = 0
    /// The engine's last report on its fast path (`engine_fastpath.py`), for `status -v`.
    var fastPath: RequestOutcome.FastPath?
    var engineRestarts = 0
    var reportedFallback = false
    /// What the next `run` says about an engine restart it did not ask for (mypy's lines).
    var restartNotice: RestartNotice?
    /// The engine's resident size that makes it be recycled after a check.
    var memoryLimitMiB = Double.infinity
    /// How many updates an engine makes before it is replaced, when set (`DMYPY_RECYCLE_AFTER`).
    var maximumUpdates: Int?
    var aging = EngineAging()
    /// A fresh engine warming up to replace an aged one.
    var standby: StandbyEngine?
    var engineRecycles = 0
    var reportedOverflows = 0
    /// The workspace's cache slot: loading, writing, refreshing (`WorkspaceCache`).
    var cache: CacheState
    /// `dmypy watch`/`dmypy lsp` subscribers and the editors' unsaved buffers (WorkspaceSubscribers.swift).
    var subscribers = WorkspaceSubscribers()

    init(settings: Settings, loop: EventLoop, log: Log, adapterPath: String) {
        self.settings = settings
        self.loop = loop
        self.log = log
        self.adapterPath = adapterPath
        cache = CacheState(settings: CacheSettings(environment: Process.environmentDictionary(settings.environment)))
    }

    var engine: EngineProcess? {
        switch state {
        case .starting(let e), .ready(let e): return e
        default: return nil
        }
    }

    var enginePID: pid_t? { engine?.pid }

    var isBusy: Bool { schedule.current != nil }

    /// A check runs, or the cache slot is being written: the workspace is not idle.
    var hasBackgroundWork: Bool { isBusy || cache.writer != nil }

    // MARK: jobs

    /// Queues a command for the engine. A check whose answer is known is answered at once; an
    /// identical one already waiting in the queue, or running on unchanged files, is shared.
    func submit(command: String, data: JSONObject, waiter: JobWaiter) {
        takeFileChanges()
        if command == "run", let notice = restartNotice {
            // mypy's client prints these before the answer of the `run` that restarted its daemon.
            restartNotice = nil
            waiter.jobOutput(key: "stdout", text: notice.text)
        }
        if case .failed(let failure) = state {
            waiter.jobFinished(withMetadata(["error": .string(failure.message)]))
            return
        }
        switch schedule.submit(command: command, data: data, waiter: waiter, evidence: files?.hasEvidence == true) {
        case .fromMemory(let answer):
            answeredFromMemory += 1
            for output in answer.output { waiter.jobOutput(key: output.key, text: output.text) }
            waiter.jobFinished(answer.response)
        case .joinedRunning(let job):
            waiter.jobProgress(runningText(job))
        case .joinedQueued(let job):
            waiter.jobProgress(waitingText(job))
        case .queued(let job):
            pump()
            if schedule.current !== job { waiter.jobProgress(waitingText(job)) }
        }
    }

    /// A client went away: it no longer waits for anything (the job itself still runs).
    func detach(_ waiter: JobWaiter) {
        schedule.detach(waiter)
    }

    /// Sends the next job to the engine when it is ready and idle.
    func pump() {
        guard case .ready(let engine) = state, let job = schedule.startNext() else { return }
        for waiter in job.waiters { waiter.jobProgress(runningText(job)) }
        var data = job.data
        if job.command == "run", data["version"] == .null, let interpreter {
            data["version"] = .string(interpreter.mypyVersion)   // our client's run: the engine's own version
        }
        engine.send(.run(id: job.id, command: job.command, data: data))
    }

    func answer(_ job: EngineJob, _ response: JSONObject) {
        let waiters = job.waiters
        job.waiters.removeAll()
        var response = response
        if let note = cache.startNote, ["run", "check", "recheck"].contains(job.command), !waiters.isEmpty {
            cache.startNote = nil
            response[CacheState.noteField] = .string(note)   // our client prints it on a terminal only
        }
        for waiter in waiters { waiter.jobFinished(response) }
    }

    func withMetadata(_ response: JSONObject) -> JSONObject {
        var response = response
        response.merge(metadata)
        return response
    }

    /// The engine answered a job.
    func finished(_ job: EngineJob, _ outcome: RequestOutcome, engine: EngineProcess) {
        if outcome.crashed {
            // mypy raised inside its update: its in-memory state can no longer be trusted.
            let text = outcome.response["error"]?.stringValue ?? ""
            log.error("mypy crashed while running '\(job.command)'; restarting the engine", fields: ["TRACEBACK": text])
            replaceEngine(.crashed(text))
            return
        }
        modulesInGraph = outcome.modules
        // What the answer rests on is judged by the watches live while mypy looked; the reply's
        // graph and evidence are recorded (and watched) once the answer is on its way.
        let unwatched = files?.unwatchedWhileChecking(outcome) ?? []
        let wasUpdate = job.buildsState && outcome.succeeded && !job.isWarmUp && schedule.lastBuild != nil
        if job.buildsState || job.command == "recheck" {
            lastCheckSeconds = outcome.seconds
            lastCheckStatus = outcome.response["status"]?.intValue
            let out = outcome.response["out"]?.stringValue ?? ""
            let summary = out.split(separator: "\n").last.map(String.init) ?? ""
            log.info("Check done: \(summary)", fields: ["COMMAND": job.command, "SECONDS": PythonRepr.float((outcome.seconds * 1000).rounded() / 1000),
                                                     "STATUS": "\(lastCheckStatus ?? -1)", "MODULES": "\(modulesInGraph)",
                                                     "DIRECTORY": settings.directory])
            onCheckDone?(lastCheckStatus, outcome.seconds, summary)
        }
        let response = withMetadata(outcome.response)
        // Everything the answer rests on was watched while mypy looked at it, or it is not kept.
        if !unwatched.isEmpty {
            log.debug("The answer rests on files that were not watched while mypy read them; checking once more",
                      fields: ["UNWATCHED": "\(unwatched.count)", "FIRST": unwatched[0]])
            // A change to them meanwhile was not seen: the next check must look at every file.
            engine.send(.invalidate(paths: [], all: false, complete: false))
        }
        if let fast = outcome.fastPath {
            fastPath = fast
            log.debug("Fast path \(fast.taken ? "taken" : "not taken"): \(fast.reason)")
        }
        let decision = schedule.finished(job, succeeded: outcome.succeeded, response: response,
                                         evidenceComplete: files != nil && unwatched.isEmpty)
        answer(job, response)
        // Nothing runs between the answer and this (one event-loop callback): no file event or
        // request is looked at before the graph and the watches are up to date.
        files?.record(outcome)
        if decision.everythingChecked { files?.checkedEverything() }
        if job.buildsState, outcome.succeeded { files?.noteBuild(command: job.command, data: job.data) }
        if job.buildsState, !job.isWarmUp, let memory = ProcessMemory(pid: engine.pid), memory.rssMiB > memoryLimitMiB {
            replaceEngine(.recycled("it uses \(Int(memory.rssMiB)) MiB, over the limit of \(Int(memoryLimitMiB)) MiB (\(DaemonConfiguration.memoryLimitVariable))"))
            return
        }
        if wasUpdate, let reason = aging.record(seconds: outcome.seconds) {
            startStandby(reason: reason)
        }
        cacheAfterJob(job, outcome)
        // Errors taken from the cache are checked for real by the next build: run it now.
        if decision.confirm || outcome.cacheLoad?.pending == true { preCheck() }
        swapInStandby()
        pump()
    }

    /// Runs the last build again now, nobody waiting, so its answer is ready when asked for.
    func preCheck() {
        if schedule.queuePreCheck() {
            preChecks += 1
            pump()
        }
    }

    /// Stops the engine and the watcher, and answers whatever still waits.
    func shutdown(reason: String) {
        dropStandby(because: "the workspace is shutting down")
        detachCacheWriter()
        files?.close()
        for job in schedule.removeAll() {
            answer(job, withMetadata(["error": .string(reason)]))
        }
        stopEngine()
    }

    /// Stops whatever runs or is being started, without a report.
    func stopEngine() {
        switch state {
        case .starting(let engine), .ready(let engine): engine.terminate()
        case .stopped, .failed: break
        }
        state = .stopped
    }
}
