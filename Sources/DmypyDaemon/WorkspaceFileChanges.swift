import DmypySystem
import DmypyWatch
import DmypyWire

/// How a workspace reacts to file events: each settled batch bumps the change generation, tells
/// the engine which files to hash again, and queues a pre-check of the last build.
extension Workspace {
    /// Takes the file events the kernel has queued now. Called before serving a request: a save
    /// made before the request was sent is in this batch.
    func takeFileChanges() {
        if let batch = files?.watcher.drainNow() { filesChanged(batch) }
    }

    func filesChanged(_ batch: ChangeBatch) {
        guard let files else { return }
        if batch.needsRecrawl { reportLostEvents(files) }
        switch files.react(to: batch) {
        case .nothing:
            return
        case .restartEngine(let reason, let notice):
            replaceEngine(.outdated(reason, notice: notice))
        case .update(let paths, let everything, let stale, let rebuild, let configuration):
            schedule.filesChanged()
            cacheFilesChanged()
            log.debug("Files changed", fields: ["FILES": "\(paths.count)", "STALE_MODULES": "\(stale.count)",
                                                "RECRAWL": everything ? "1" : "0"])
            if rebuild {
                replaceEngine(.rebuild("a checkout changed most of the build"))
                return
            }
            // The engine may hand mypy exactly these files only when nothing can have changed unseen.
            let complete = !everything && files.isReliable && files.hasEvidence
            switch state {
            case .starting(let engine), .ready(let engine):
                engine.send(.invalidate(paths: paths, all: everything, complete: complete))
                // Whether mypy's options changed is mypy's to say (what `dmypy run` compares):
                // editing an unrelated part of pyproject.toml must not cost a rebuild.
                if configuration { engine.send(.compareOptions) }
                standby?.engine.send(.invalidate(paths: paths, all: everything, complete: complete))
            case .stopped, .failed:
                if configuration {
                    replaceEngine(.outdated("a configuration file changed", notice: nil))
                    return
                }
            }
            preCheck()
            renewSubscriptions(changed: paths)
        }
    }

    /// Events were lost or the watcher ran out of watches: say so once per cause, with what it means.
    func reportLostEvents(_ files: FileTracking) {
        let stats = files.watcher.stats
        if let reason = stats.fallbackReason {
            guard !reportedFallback else { return }
            reportedFallback = true
            log.warning("Out of inotify watches (\(reason)); checks now stat every file of the build, as mypy's daemon does. "
                        + "Raise that limit and restart the daemon to get file events back.",
                        fields: ["WATCHED_DIRECTORIES": "\(stats.directoriesWatched)"])
        } else if stats.overflows > reportedOverflows {
            reportedOverflows = stats.overflows
            log.warning("The kernel dropped file events (inotify queue overflow); mypy will hash every file of the build again",
                        fields: ["OVERFLOWS": "\(stats.overflows)"])
        }
    }

}
