/// What a waiting request waits for, in words for a person at a terminal (progress frames).
extension Workspace {
    /// What a running job is doing, as a person wants to know it.
    func runningText(_ job: EngineJob) -> String {
        guard job.buildsState || job.command == "recheck" else { return "mypy: \(job.command)" }
        if cache.loading, let modules = cache.slot?.modules { return "loading cache: \(Self.grouped(modules)) modules" }
        if schedule.lastBuild == nil { return "checking: first build, mypy reads every module" }
        let stale = files?.graph.staleModules.count ?? 0
        return "checking: \(Self.grouped(modulesInGraph)) modules, \(Self.grouped(stale)) changed or affected"
    }

    func waitingText(_ job: EngineJob) -> String {
        switch state {
        case .starting, .stopped: return "starting the engine"
        case .failed: return "the engine has failed"
        case .ready:
            let ahead = schedule.queue.firstIndex { $0 === job } ?? 0
            return ahead == 0 ? "waiting for the check in progress" : "waiting for \(ahead + 1) requests ahead"
        }
    }

    func tellWaiters(_ text: String) {
        for job in schedule.jobs {
            for waiter in job.waiters { waiter.jobProgress(text) }
        }
    }

    /// 2168 as "2,168".
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return out
    }
}
