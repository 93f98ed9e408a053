import DmypyWire

/// A workspace's part of `dmypy status`.
extension Workspace {
    /// The watcher's, the graph's and the answers' state, for `status`.
    func statusFields() -> JSONObject {
        var fields = files?.statusFields() ?? ["watcher_fallback": "no watcher"]
        fields["change_generation"] = .int(schedule.generation)
        fields["answered_from_memory"] = .int(answeredFromMemory)
        fields["pre_checks"] = .int(preChecks)
        if let fastPath {
            fields["fast_path_checks"] = .int(fastPath.checks)
            fields["fast_path_taken"] = .int(fastPath.fast)
            fields["fast_path_last"] = .string((fastPath.taken ? "taken: " : "not taken: ") + fastPath.reason)
        }
        fields["engine_restarts"] = .int(engineRestarts)
        fields["engine_recycles"] = .int(engineRecycles)
        fields["engine_updates"] = .int(aging.updates)
        fields["standby_engine_pid"] = standby.map { .int(Int($0.engine.pid)) } ?? .null
        fields["engine_state"] = .string(stateName)
        fields.merge(cacheStatusFields())
        return fields
    }

    /// What the engine is doing, in a word, for `status -v`.
    var stateName: String {
        switch state {
        case .stopped: return "stopped"
        case .starting: return "starting"
        case .ready: return "ready"
        case .failed: return "failed"
        }
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
