import DmypyEngine
import DmypySystem
import DmypyWire

/// What a workspace knows of its cache slot (`engine_cache.py` has the slot's layout and rules).
struct CacheState {
    var settings: CacheSettings
    /// The slot as the current engine found it at its start.
    var slot: EngineStart.CacheSlot?
    /// How the current engine's first build went with it.
    var load: RequestOutcome.CacheLoad?
    /// The current engine's first build loads the slot now.
    var loading = false
    /// The next engine start must not load the slot (a load failed or hung), and why.
    var refuseNextLoad: String?
    /// The writer running in the background, if any.
    var writer: CapturedProcess?
    var writes = 0
    var lastWrite: String?
    var writtenAt: Double?
    var writtenModules: Int?
    /// A build changed something since the slot was last written.
    var dirty = false
    var watchdog: LoopTimer?
    var refreshTimer: LoopTimer?
    /// CPU seconds the writers of this workspace spent.
    var writerCPUSeconds = 0.0
    /// One line for the next answer's client, when this start could not use the remote cache.
    var startNote: String?
    /// The response field that carries it (not mypy's; our client shows it on a terminal only).
    static let noteField = "dmypy_swift_note"

    init(settings: CacheSettings) {
        self.settings = settings
    }
}

/// The workspace's side of the cache: what each engine start asks for, the watchdog over a load,
/// and the writer that keeps the slot up to date in the background (after a cold build, and after
/// edits once the daemon has been idle a while), at idle priority, never delaying an answer.
extension Workspace {
    /// What the next engine start asks of the cache (nil: no cache).
    func cacheRequestForStart() -> CacheRequest? {
        guard let root = cache.settings.root else { return nil }
        defer { cache.refuseNextLoad = nil }
        if let why = cache.refuseNextLoad { return CacheRequest(root: root, load: false, why: why) }
        armLoadWatchdog()
        let remote = FileSystem.readLink("/proc/self/exe").map { RemoteCacheRequest(fetcher: [$0, "cache", "fetch"]) }
        return CacheRequest(root: root, remote: remote)
    }

    /// A load that has not answered within the limit is given up: it may hang (python/mypy#10735).
    private func armLoadWatchdog() {
        if cache.watchdog == nil {
            cache.watchdog = try? LoopTimer(loop: loop) { [weak self] in self?.loadHung() }
        }
        cache.watchdog?.schedule(after: cache.settings.loadTimeout)
    }

    private func disarmLoadWatchdog() {
        cache.watchdog?.cancel()
    }

    private func loadHung() {
        let seconds = Int(cache.settings.loadTimeout)
        let slot = cache.slot?.path ?? "the workspace's cache slot"
        log.error("Loading \(slot) did not finish within \(seconds) s; discarding it and building from scratch")
        cache.refuseNextLoad = "loading it hung (over \(seconds) s, \(CacheSettings.variable)_LOAD_TIMEOUT); it was discarded"
        cache.loading = false
        replaceEngine(.rebuild("loading the cache hung"))
    }

    /// The engine said what it found at its start.
    func cacheEngineStarted(_ slot: EngineStart.CacheSlot?) {
        if slot?.path != cache.slot?.path {
            cache.writtenAt = nil   // another slot (other options): written once it is built
            cache.dirty = false
        }
        cache.slot = slot
        cache.load = nil
        cache.loading = slot?.warm == true
        if !cache.loading { disarmLoadWatchdog() }
        if let pull = slot?.remote, pull.location != nil {
            let fields = ["SLOT": slot?.path ?? "", "REMOTE": pull.location ?? "", "COMMIT": pull.commit ?? "", "SECONDS": "\(pull.seconds ?? 0)"]
            if pull.installed {
                log.info("Cache slot pulled from the remote cache: \(pull.reason ?? "")", fields: fields)
            } else {
                log.warning("Remote cache not used: \(pull.reason ?? "unknown reason")", fields: fields)
                var reason = Substring(pull.reason ?? "no reason given")
                if reason.hasPrefix("remote cache: ") { reason = reason.dropFirst("remote cache: ".count) }
                cache.startNote = "dmypy: remote cache not used (\(reason)); building from scratch"
            }
        }
        if let slot, !slot.warm, let reason = slot.reason {
            log.info("Cache slot not loaded: \(reason)", fields: ["SLOT": slot.path ?? ""])
        }
    }

    /// A job finished: how a load went, and whether the slot should be written now.
    func cacheAfterJob(_ job: EngineJob, _ outcome: RequestOutcome) {
        if let load = outcome.cacheLoad {
            cache.load = load
            cache.loading = false
            disarmLoadWatchdog()
            if load.warm {
                log.info("Cache loaded: \(load.reason ?? "")", fields: ["SLOT": cache.slot?.path ?? "", "MODULES": "\(load.modules ?? 0)",
                                                                        "SECONDS": "\(load.seconds ?? 0)"])
            } else {
                log.warning("Cache not used: \(load.reason ?? "unknown reason"); built from scratch", fields: ["SLOT": cache.slot?.path ?? ""])
            }
        }
        guard job.buildsState, outcome.succeeded, cache.settings.root != nil, let slot = cache.slot, slot.path != nil else { return }
        let builtCold = !slot.warm || outcome.cacheLoad?.warm == false
        if builtCold, cache.writtenAt == nil, cache.writer == nil, cache.lastWrite == nil {
            startCacheWriter()   // the first cold build of this slot: written at once
        }
    }

    /// Files the build reads changed: the slot is refreshed once the daemon has been idle for a
    /// while (also after a write that failed).
    func cacheFilesChanged() {
        guard cache.settings.root != nil else { return }
        cache.dirty = true
        armCacheRefresh()
    }

    private func armCacheRefresh() {
        if cache.refreshTimer == nil {
            cache.refreshTimer = try? LoopTimer(loop: loop) { [weak self] in self?.refreshIfIdle() }
        }
        cache.refreshTimer?.schedule(after: cache.settings.idleSeconds)
    }

    private func refreshIfIdle() {
        guard cache.dirty else { return }
        guard !isBusy, schedule.queue.isEmpty, cache.writer == nil else {
            armCacheRefresh()
            return
        }
        startCacheWriter()
    }

    /// Writes (or refreshes) the slot for the last build in a child process at idle priority.
    func startCacheWriter() {
        guard let root = cache.settings.root, let build = schedule.lastBuild, let interpreter,
              let key = cache.slot?.key, cache.writer == nil else { return }
        cache.dirty = false
        var data = build.data
        if data["version"] == .null { data["version"] = .string(interpreter.mypyVersion) }
        let spec: JSONObject = [
            "root": .string(root), "key": .string(key),
            "flags": .array(settings.flags.map { .string($0) }), "allow_sources": .bool(settings.allowSources),
            "command": .string(build.command), "data": .object(data),
            "max_bytes": .int(cache.settings.maximumBytes),
        ]
        let source = String(decoding: EngineAdapter.cacheSource, as: UTF8.self)
        do {
            cache.writer = try CapturedProcess(interpreter.path, ["-c", source, "--write-cache", JSON.object(spec).serialized()],
                                               environment: settings.environment, directory: settings.directory, loop: loop) {
                [weak self] termination, output in self?.cacheWriterEnded(termination, output)
            }
            log.info("Writing the cache slot in the background", fields: ["WRITER_PID": "\(cache.writer?.pid ?? 0)", "SLOT": cache.slot?.path ?? ""])
        } catch {
            log.warning("Could not start the cache writer: \(error)")
        }
    }

    private func cacheWriterEnded(_ termination: Process.Termination?, _ output: [UInt8]) {
        cache.writer = nil
        let report = (try? JSONParser.parse(output)).flatMap(\.objectValue) ?? [:]
        if let cpu = report["cpu_seconds"].flatMap({ value -> Double? in
            if case .double(let d) = value { return d } else { return value.intValue.map(Double.init) }
        }) {
            cache.writerCPUSeconds += cpu
        }
        if report["written"]?.boolValue == true {
            cache.writes += 1
            cache.writtenAt = Clock.wall()
            cache.writtenModules = report["modules"]?.intValue
            cache.lastWrite = "written"
            var fields: [String: String] = [:]
            for key in ["slot", "modules", "dependency_edges", "bytes", "seconds", "cpu_seconds", "refreshed"] {
                if let value = report[key] { fields[key.uppercased()] = value.stringValue ?? JSON.object([key: value]).serialized() }
            }
            log.info("Cache slot written", fields: fields)
        } else {
            let reason = report["reason"]?.stringValue ?? "the writer \(termination.map { "\($0)" } ?? "ended") without a report"
            cache.lastWrite = "not written: " + reason
            log.warning("Cache slot not written: \(reason)", fields: ["TRACEBACK": report["traceback"]?.stringValue ?? ""])
        }
    }

    /// The cache's part of `status -v`.
    func cacheStatusFields() -> JSONObject {
        var fields: JSONObject = [:]
        guard cache.settings.root != nil else {
            fields["cache"] = .string(cache.settings.offReason ?? "off")
            return fields
        }
        fields["cache_slot"] = cache.slot?.path.map { .string($0) } ?? .null
        fields["cache_warm_start"] = cache.load.map { .bool($0.warm) } ?? (cache.slot.map { .bool($0.warm) } ?? .null)
        fields["cache_reason"] = (cache.load?.reason ?? cache.slot?.reason).map { .string($0) } ?? .null
        fields["cache_modules"] = (cache.writtenModules ?? cache.load?.modules ?? cache.slot?.modules).map { .int($0) } ?? .null
        fields["cache_written_at"] = (cache.writtenAt ?? cache.slot?.writtenAt).map { .double($0) } ?? .null
        fields["cache_load_seconds"] = cache.load?.seconds.map { .double($0) } ?? .null
        fields["cache_writes"] = .int(cache.writes)
        fields["cache_last_write"] = cache.lastWrite.map { .string($0) } ?? .null
        fields["cache_writer_pid"] = cache.writer.map { .int(Int($0.pid)) } ?? .null
        fields["cache_writer_cpu_seconds"] = .double(cache.writerCPUSeconds)
        if let pull = cache.slot?.remote, pull.location != nil {
            fields["cache_remote"] = .string(pull.location ?? "")
            fields["cache_remote_pulled"] = .bool(pull.installed)
            fields["cache_remote_reason"] = pull.reason.map { .string($0) } ?? .null
            fields["cache_remote_commit"] = pull.commit.map { .string($0) } ?? .null
        }
        return fields
    }

    /// At shutdown a writer finishes on its own: it writes atomically and under a lock.
    func detachCacheWriter() {
        cache.writer?.detach()
        cache.writer = nil
        cache.watchdog?.close()
        cache.refreshTimer?.close()
    }
}
