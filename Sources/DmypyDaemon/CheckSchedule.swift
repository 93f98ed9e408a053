import DmypyWire

/// The schedule of a workspace's engine: the job queue, the sharing of identical checks, the
/// answer cache and the change generation. It takes events (a request, a job finished, files
/// changed, the engine replaced) and returns what to do; `Workspace` performs it. Its rules are
/// unit-tested in `CheckScheduleTests`.
///
/// - A request identical to the last answered check (same command, same fields), at the same
///   generation, with positive evidence that nothing it rests on can have changed unseen, is
///   answered from memory.
/// - An identical check already queued is joined; one already running is joined only at the same
///   generation and with that same evidence (it began before the request arrived).
/// - An answer is kept only when the engine's evidence for it was complete while it ran; when it
///   was not, the last build is checked once more (`Finish.confirm`) so that one can be kept.
struct CheckSchedule {
    /// The last successful check or run: what a new engine builds first, and what a pre-check runs.
    struct Build: Equatable {
        var command: String
        var data: JSONObject
    }

    private(set) var queue: [EngineJob] = []
    private(set) var current: EngineJob?
    /// Bumped by every burst of file changes that matters to the build.
    private(set) var generation = 0
    private(set) var cachedAnswer: CachedAnswer?
    private(set) var lastBuild: Build?
    private var nextJobID = 1

    enum Submission {
        case fromMemory(CachedAnswer)
        case joinedRunning(EngineJob)
        case joinedQueued(EngineJob)
        case queued(EngineJob)
    }

    mutating func takeJobID() -> Int {
        defer { nextJobID += 1 }
        return nextJobID
    }

    mutating func submit(command: String, data: JSONObject, waiter: JobWaiter, evidence: Bool) -> Submission {
        if evidence, let cached = cachedAnswer, cached.answers(command: command, data: data, generation: generation) {
            return .fromMemory(cached)
        }
        let job = EngineJob(id: takeJobID(), command: command, data: data)
        if let key = job.sharingKey, evidence, let running = current, running.sharingKey == key, running.generation == generation {
            for output in running.output { waiter.jobOutput(key: output.key, text: output.text) }
            running.waiters.append(waiter)
            return .joinedRunning(running)
        }
        if let key = job.sharingKey, let queued = queue.first(where: { $0.sharingKey == key }) {
            queued.waiters.append(waiter)
            return .joinedQueued(queued)
        }
        job.waiters.append(waiter)
        queue.append(job)
        return .queued(job)
    }

    mutating func detach(_ waiter: JobWaiter) {
        current?.waiters.removeAll { $0 === waiter }
        for job in queue { job.waiters.removeAll { $0 === waiter } }
    }

    /// The job to send to the engine now, if it is idle; it runs at the current generation.
    mutating func startNext() -> EngineJob? {
        guard current == nil, !queue.isEmpty else { return nil }
        let job = queue.removeFirst()
        job.generation = generation
        current = job
        return job
    }

    /// What follows a finished job.
    struct Finish: Equatable {
        /// The job saw every change made before it began and none came since: nothing is stale.
        var everythingChecked = false
        /// Its answer was not kept for want of evidence: check the last build once more.
        var confirm = false
    }

    mutating func finished(_ job: EngineJob, succeeded: Bool, response: JSONObject, evidenceComplete: Bool) -> Finish {
        if current === job { current = nil }
        if job.buildsState, succeeded { lastBuild = Build(command: job.command, data: job.data) }
        var finish = Finish()
        guard job.sharingKey != nil, succeeded, let started = job.generation else { return finish }
        finish.everythingChecked = started == generation
        if evidenceComplete {
            cachedAnswer = CachedAnswer(command: job.command, data: job.data, generation: started,
                                        response: response, output: job.output)
        } else {
            finish.confirm = job.buildsState && started == generation
        }
        return finish
    }

    /// Files the build reads changed: every answer known so far is void.
    mutating func filesChanged() {
        generation += 1
    }

    /// The engine was replaced. The job in flight goes back to the front of the queue (or, after it
    /// crashed the engine twice, is returned to be answered with the crash); the new engine builds
    /// the last build first. With `voidAnswers`, answers known so far are void.
    mutating func engineReplaced(crashed: Bool, voidAnswers: Bool) -> EngineJob? {
        if voidAnswers {
            generation += 1
            cachedAnswer = nil
        }
        var givenUp: EngineJob?
        if let job = current {
            current = nil
            job.generation = nil
            job.output = []
            if crashed { job.attempts += 1 }
            if job.attempts >= 2 {
                givenUp = job   // the same request crashed mypy twice: it is mypy's answer, not bad luck
            } else {
                queue.insert(job, at: 0)
            }
        }
        if let build = lastBuild, !(queue.first.map { $0.buildsState } ?? false) {
            let warmUp = EngineJob(id: takeJobID(), command: build.command, data: build.data)
            warmUp.isWarmUp = true
            queue.insert(warmUp, at: 0)
        }
        return givenUp
    }

    /// Queues the last build, nobody waiting, unless it is queued already. Returns whether it did.
    mutating func queuePreCheck() -> Bool {
        guard let build = lastBuild else { return false }
        let job = EngineJob(id: takeJobID(), command: build.command, data: build.data)
        guard !queue.contains(where: { $0.sharingKey == job.sharingKey }) else { return false }
        queue.append(job)
        return true
    }

    /// An answer computed elsewhere (a warm standby engine's build, begun at `generation`).
    mutating func keep(_ answer: CachedAnswer) {
        cachedAnswer = answer
    }

    /// Empties the schedule; returns every job that was waiting or running.
    mutating func removeAll() -> [EngineJob] {
        let everyone = (current.map { [$0] } ?? []) + queue
        current = nil
        queue.removeAll()
        return everyone
    }

    /// Every job waiting or running, the running one first.
    var jobs: [EngineJob] { (current.map { [$0] } ?? []) + queue }
}
