import DmypyWire

// The engine channel: what the daemon sends the Python adapter and what comes back, as typed
// values. Frames are decoded into these once, in `EngineProcess`; nothing else reads the
// engine's JSON. On the wire each message is mypy's framing (4-byte big-endian length, UTF-8 JSON
// object); requests go to the adapter's fd 3, replies come from its fd 4.

/// A message from the daemon to the engine.
public enum EngineRequest: Equatable, Sendable {
    /// Process mypy's flags as `dmypy start` does and build mypy's `Server` (replied: `started`).
    /// With `cache`, find the workspace's cache slot and load it at the first build.
    case start(flags: [String], allowSources: Bool, stdoutTTY: Bool, stderrTTY: Bool, cache: CacheRequest?)
    /// Run one of mypy's commands (`cmd_<command>(**data)`); replied with output frames, then `finished`.
    case run(id: Int, command: String, data: JSONObject)
    /// Make mypy hash these files again on its next update (every file it knows, with `all`). No reply.
    /// `complete`: these are all the files that changed since the previous invalidate (a reliable
    /// watcher that lost nothing, every file mypy looked at under a watch), so the next check may
    /// hand mypy exactly these (`engine_fastpath.py`); false also says "since the last check,
    /// something may have changed unseen", with or without paths.
    case invalidate(paths: [String], all: Bool, complete: Bool)
    /// A configuration file was written: are mypy's options different now? (replied: `options`)
    case compareOptions
    /// Check `path` as an editor's unsaved buffer says (`text`), without touching the file; nil
    /// drops the buffer and the file on disk counts again. No reply.
    case overlay(path: String, text: String?)

    public var json: JSONObject {
        switch self {
        case .start(let flags, let allowSources, let stdoutTTY, let stderrTTY, let cache):
            var message: JSONObject = ["op": "start", "flags": .array(flags.map { .string($0) }), "allow_sources": .bool(allowSources),
                                       "stdout_tty": .bool(stdoutTTY), "stderr_tty": .bool(stderrTTY)]
            message["cache"] = cache.map { request in
                .object(["root": .string(request.root), "load": .bool(request.load), "why": request.why.map { .string($0) } ?? .null,
                         "remote": request.remote.map { .object(["fetcher": .array($0.fetcher.map { .string($0) })]) } ?? .null])
            } ?? .null
            return message
        case .run(let id, let command, let data):
            return ["op": "request", "id": .int(id), "command": .string(command), "data": .object(data)]
        case .invalidate(let paths, let all, let complete):
            return ["op": "invalidate", "paths": .array(paths.map { .string($0) }), "all": .bool(all), "complete": .bool(complete)]
        case .compareOptions:
            return ["op": "options_changed"]
        case .overlay(let path, let text):
            return ["op": "overlay", "path": .string(path), "text": text.map { .string($0) } ?? .null]
        }
    }
}

/// Where the engine keeps cache slots, and whether it may load one now.
public struct CacheRequest: Equatable, Sendable {
    /// `$XDG_CACHE_HOME/dmypy-swift`.
    public var root: String
    /// False after a load that failed or hung: the slot is discarded and the build goes cold.
    public var load: Bool
    /// Why it may not load, for the log and `status -v`.
    public var why: String?
    /// Where a start without a local slot may pull one from (`engine_remote.py`), when set.
    public var remote: RemoteCacheRequest?

    public init(root: String, load: Bool = true, why: String? = nil, remote: RemoteCacheRequest? = nil) {
        self.root = root
        self.load = load
        self.why = why
        self.remote = remote
    }
}

/// How the engine reaches the remote cache: the location is its own to find (`DMYPY_REMOTE_CACHE`
/// or pyproject.toml), the network is this binary's (`dmypy cache fetch`).
public struct RemoteCacheRequest: Equatable, Sendable {
    /// The command line that fetches an archive (this binary's `cache fetch`).
    public var fetcher: [String]

    public init(fetcher: [String]) {
        self.fetcher = fetcher
    }
}

/// A message from the engine to the daemon.
public enum EngineReply: Equatable, Sendable {
    case started(EngineStart)
    /// Whether mypy's options, read again, differ from the running Server's (`Options.compare_stable`).
    case options(changed: Bool, reason: String)
    /// Text mypy printed while running request `id`.
    case output(id: Int, stream: OutputStream, text: String)
    /// The end of request `id`.
    case finished(id: Int, RequestOutcome)

    public enum OutputStream: String, Sendable {
        case stdout, stderr
    }

    /// Decodes one frame; nil for a message this daemon does not know (logged by the caller).
    public init?(_ message: JSONObject) {
        switch message["op"]?.stringValue {
        case "started":
            self = .started(EngineStart(message))
            return
        case "options":
            self = .options(changed: message["changed"]?.boolValue ?? true, reason: message["reason"]?.stringValue ?? "")
            return
        default:
            break
        }
        guard let id = message["id"]?.intValue else { return nil }
        if message["final"]?.boolValue == true {
            self = .finished(id: id, RequestOutcome(message))
        } else if let text = message["stdout"]?.stringValue {
            self = .output(id: id, stream: .stdout, text: text)
        } else if let text = message["stderr"]?.stringValue {
            self = .output(id: id, stream: .stderr, text: text)
        } else {
            return nil
        }
    }
}

/// The reply to `start`: mypy accepted its options and built its Server, or printed why not.
public struct EngineStart: Equatable, Sendable {
    public var ok: Bool
    /// What mypy printed while processing the options (the `start` command's own output).
    public var out: String
    public var err: String
    public var status: Int
    /// `platform` and `python_version`, which mypy's server adds to every response.
    public var metadata: JSONObject
    /// Every place mypy may read its configuration from (a change may change its options).
    public var configFiles: [String]
    /// Files whose change makes the running engine wrong whatever the options: plugins, mypy itself.
    public var restartFiles: [String]
    /// The workspace's cache slot, and whether the first build loads it (nil: no cache asked for).
    public var cache: CacheSlot?
    /// The mypy version the engine runs.
    public var mypyVersion: String?
    /// Why this interpreter cannot run mypy (it cannot import it): try the next one.
    public var missingMypy: String?

    /// A cache slot as the engine found it at its start.
    public struct CacheSlot: Equatable, Sendable {
        /// The slot's directory (nil: the project's own cache, `--use-fine-grained-cache`).
        public var path: String?
        /// What the slot is keyed by, hashed (the writer checks it is still the same).
        public var key: String?
        /// The first build loads it.
        public var warm: Bool
        /// Why it is not loaded (or where it comes from).
        public var reason: String?
        public var modules: Int?
        public var writtenAt: Double?
        public var bytes: Int?
        /// What the build the slot holds looked at: watched before the load looks at it again.
        public var evidence: RequestOutcome.Evidence?
        /// What a pull from the remote cache did, when one was tried (there was no local slot).
        public var remote: RemotePull?
    }

    /// The engine's report on a pull from the remote cache (`engine_remote.pull`).
    public struct RemotePull: Equatable, Sendable {
        public var installed: Bool
        public var reason: String?
        /// `s3://bucket/prefix` or `file:///path`; nil: no remote cache is configured.
        public var location: String?
        /// The commit whose cache was pulled (or the merge-base it was looked up from).
        public var commit: String?
        /// First-parent commits between the merge-base and the pulled one.
        public var distance: Int?
        public var seconds: Double?

        init(_ fields: JSONObject) {
            installed = fields["installed"]?.boolValue ?? false
            reason = fields["reason"]?.stringValue
            location = fields["location"]?.stringValue
            commit = fields["commit"]?.stringValue
            distance = fields["distance"]?.intValue
            seconds = fields["seconds"]?.doubleValue
        }
    }

    public init(ok: Bool, out: String = "", err: String = "", status: Int = 0, metadata: JSONObject = [:],
                configFiles: [String] = [], restartFiles: [String] = [], cache: CacheSlot? = nil) {
        self.ok = ok
        self.out = out
        self.err = err
        self.status = status
        self.metadata = metadata
        self.configFiles = configFiles
        self.restartFiles = restartFiles
        self.cache = cache
    }

    init(_ message: JSONObject) {
        let cache = message["cache"]?.objectValue.map { fields in
            CacheSlot(path: fields["slot"]?.stringValue, key: fields["key"]?.stringValue, warm: fields["warm"]?.boolValue ?? false,
                      reason: fields["reason"]?.stringValue, modules: fields["modules"]?.intValue,
                      writtenAt: fields["written_at"]?.doubleValue, bytes: fields["bytes"]?.intValue,
                      evidence: fields["evidence"]?.objectValue.map {
                          RequestOutcome.Evidence(files: $0["files"]?.strings ?? [], directories: $0["directories"]?.strings ?? [])
                      },
                      remote: fields["remote"]?.objectValue.map(RemotePull.init))
        }
        self.init(ok: message["ok"]?.boolValue ?? false,
                  out: message["out"]?.stringValue ?? "",
                  err: message["err"]?.stringValue ?? "",
                  status: message["status"]?.intValue ?? 2,
                  metadata: message["metadata"]?.objectValue ?? [:],
                  configFiles: message["config_files"]?.strings ?? [],
                  restartFiles: message["restart_files"]?.strings ?? [],
                  cache: cache)
        mypyVersion = message["mypy_version"]?.stringValue
        missingMypy = message["missing_mypy"]?.stringValue
    }
}

/// How one request ended, with what changed in mypy's view of the build.
public struct RequestOutcome: Equatable, Sendable {
    /// mypy's response, as `Server.run_command` returned it (plus its metadata).
    public var response: JSONObject
    /// mypy raised inside the command: its in-memory state can no longer be trusted.
    public var crashed: Bool
    /// Modules in mypy's fine-grained graph after the command (0 without a build).
    public var modules: Int
    /// How long mypy took.
    public var seconds: Double
    /// What changed in mypy's module graph since the previous reply, when anything did.
    public var graph: GraphDelta?
    /// mypy's search paths (python path, MYPYPATH, site-packages, typeshed), when they changed.
    public var searchDirectories: [String]?
    /// What mypy looked at on disk that it had not looked at before in this engine's life.
    public var evidence: Evidence
    /// How the first build of an engine that was to load a cache went.
    public var cacheLoad: CacheLoad?
    /// Whether a build command took the fast path (known changes only), and why (not).
    public var fastPath: FastPath?

    public struct FastPath: Equatable, Sendable {
        public var taken: Bool
        public var reason: String
        /// Build commands this engine ran, and how many of them took the fast path.
        public var checks: Int
        public var fast: Int
    }

    public struct CacheLoad: Equatable, Sendable {
        /// The cache was loaded (false: it could not be, and the build went cold).
        public var warm: Bool
        public var reason: String?
        public var modules: Int?
        public var seconds: Double?
        /// Errors were taken from the cache: the next build checks those modules for real.
        public var pending: Bool
    }

    /// A module added or replaced in mypy's graph.
    public struct ModuleEntry: Equatable, Sendable {
        public var name: String
        public var path: String?
        public var imports: [String]
        public var missing: [String]
    }

    public struct GraphDelta: Equatable, Sendable {
        public var changed: [ModuleEntry]
        public var removed: [String]
    }

    /// Every file and directory mypy's file-system cache was asked about (stat, read, listdir),
    /// including files that did not exist or did not parse. An answer given from memory rests on
    /// each of them being under a live watch: a change to any of them must produce an event.
    public struct Evidence: Equatable, Sendable {
        /// Files, and names that did not exist, as the path whose appearance or change matters:
        /// for a missing file under missing directories, the topmost missing one.
        public var files: [String]
        /// Directories whose listing mypy read.
        public var directories: [String]

        public init(files: [String] = [], directories: [String] = []) {
            self.files = files
            self.directories = directories
        }

        public var isEmpty: Bool { files.isEmpty && directories.isEmpty }
    }

    public init(response: JSONObject, crashed: Bool = false, modules: Int = 0, seconds: Double = 0,
                graph: GraphDelta? = nil, searchDirectories: [String]? = nil, evidence: Evidence = Evidence()) {
        self.response = response
        self.crashed = crashed
        self.modules = modules
        self.seconds = seconds
        self.graph = graph
        self.searchDirectories = searchDirectories
        self.evidence = evidence
    }

    init(_ message: JSONObject) {
        var graph: GraphDelta?
        if let changes = message["graph"]?.objectValue {
            let changed = (changes["changed"]?.arrayValue ?? []).compactMap { value -> ModuleEntry? in
                guard let fields = value.arrayValue, fields.count == 4, let name = fields[0].stringValue else { return nil }
                return ModuleEntry(name: name, path: fields[1].stringValue, imports: fields[2].strings ?? [],
                                   missing: fields[3].strings ?? [])
            }
            graph = GraphDelta(changed: changed, removed: changes["removed"]?.strings ?? [])
        }
        let evidence = message["evidence"]?.objectValue
        let load = message["cache_load"]?.objectValue.map { fields in
            CacheLoad(warm: fields["warm"]?.boolValue ?? false, reason: fields["reason"]?.stringValue,
                      modules: fields["modules"]?.intValue, seconds: fields["seconds"]?.doubleValue,
                      pending: fields["pending"]?.boolValue ?? false)
        }
        self.init(response: message["response"]?.objectValue ?? ["error": "The engine sent no response"],
                  crashed: message["crashed"]?.boolValue ?? false,
                  modules: message["modules"]?.intValue ?? 0,
                  seconds: message["seconds"]?.doubleValue ?? 0,
                  graph: graph,
                  searchDirectories: message["search_dirs"]?.strings,
                  evidence: Evidence(files: evidence?["files"]?.strings ?? [],
                                     directories: evidence?["directories"]?.strings ?? []))
        cacheLoad = load
        fastPath = message["fast_path"]?.objectValue.map { fields in
            FastPath(taken: fields["taken"]?.boolValue ?? false, reason: fields["reason"]?.stringValue ?? "",
                     checks: fields["checks"]?.intValue ?? 0, fast: fields["fast"]?.intValue ?? 0)
        }
    }

    /// mypy answered (with any exit status), without an error and without asking for a restart.
    public var succeeded: Bool { !crashed && response["error"] == nil && response["restart"] == nil }
}

extension JSON {
    /// The strings of an array (other elements skipped).
    var strings: [String]? { arrayValue?.compactMap(\.stringValue) }

    var doubleValue: Double? {
        switch self {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }
}
