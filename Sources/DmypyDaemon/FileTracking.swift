import DmypySystem
import DmypyWatch
import DmypyWire

/// What a workspace knows about the files its build reads: an inotify watcher over every
/// directory holding one (the modules' directories, mypy's search paths, the directories named on
/// the command line, recursively), mypy's module graph as the engine exports it, and the files
/// whose change makes the running engine wrong (configuration, plugins, mypy itself).
///
/// It turns each settled batch of file events into what the workspace must do about it.
final class FileTracking {
    enum Reaction: Equatable {
        /// Nothing the build reads changed.
        case nothing
        /// A plugin, a `.pth` file or mypy itself changed: a new engine is needed.
        case restartEngine(reason: String)
        /// Files changed: mypy must look at `paths` again (every file when `everything`), and
        /// `stale` modules must be checked again. With `rebuild`, a fresh engine is cheaper. With
        /// `configuration`, a config file was among them: mypy's options may have changed.
        case update(paths: [String], everything: Bool, stale: Set<String>, rebuild: Bool, configuration: Bool)
    }

    /// When the last batch was taken and how big it was, for `status -v`.
    struct LastUpdate {
        var files: Int
        var staleModules: Int
        var at: Double
    }

    let watcher: Watcher
    private(set) var graph: ModuleGraph
    private(set) var lastUpdate: LastUpdate?
    private let directory: String
    private var restartFiles: Set<String> = []
    private var configFiles: Set<String> = []
    private var searchDirectories: Set<String> = []
    private var namedDirectories: Set<String> = []

    init(loop: EventLoop, directory: String) throws(SystemError) {
        self.directory = PathName.normalize(directory)
        watcher = try Watcher(loop: loop)
        graph = ModuleGraph(root: self.directory)
    }

    func close() { watcher.close() }

    var isReliable: Bool { watcher.state == .watching }

    // MARK: what the engine tells us

    /// The files the engine named at its start: `restart_files` (plugins, mypy) and
    /// `config_files` (every place mypy may read its configuration from).
    func setEngineFiles(restart: [String], config: [String]) {
        restartFiles = Set(restart.map { PathName.normalize($0, relativeTo: directory) })
        configFiles = Set(config.map { PathName.normalize($0, relativeTo: directory) })
        _ = watcher.watch(files: restartFiles.union(configFiles))
    }

    /// A fresh engine exports its whole graph again.
    func forgetGraph() {
        graph = ModuleGraph(root: directory)
        searchDirectories = []
    }

    /// Applies the `graph` and `search_dirs` of an engine reply; rewatches when they changed.
    func apply(reply: JSONObject) {
        var changedWatchSet = false
        if let changes = reply["graph"]?.objectValue {
            var delta = ModuleGraph.Delta()
            for value in changes["changed"]?.arrayValue ?? [] {
                guard let fields = value.arrayValue, fields.count == 4, let name = fields[0].stringValue else { continue }
                delta.changed[name] = ModuleGraph.Module(
                    path: fields[1].stringValue,
                    imports: fields[2].arrayValue?.compactMap(\.stringValue) ?? [],
                    missing: fields[3].arrayValue?.compactMap(\.stringValue) ?? []
                )
            }
            delta.removed = Set(changes["removed"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            graph.apply(delta: delta)
            changedWatchSet = true
        }
        if let directories = reply["search_dirs"]?.arrayValue {
            searchDirectories = Set(directories.compactMap(\.stringValue))
            changedWatchSet = true
        }
        if changedWatchSet { rewatch() }
    }

    /// The directories a `check` or `run` names are watched recursively, so that a file created
    /// anywhere below them (a new source) is seen.
    func noteBuild(command: String, data: JSONObject) {
        let arguments = (command == "run" ? data["args"] : data["files"])?.arrayValue?.compactMap(\.stringValue) ?? []
        let named = Set(arguments.map { PathName.normalize($0, relativeTo: directory) }.filter(FileSystem.isDirectory))
        guard named != namedDirectories else { return }
        namedDirectories = named
        rewatch()
    }

    /// The watcher keeps what it was given and only changes what differs.
    private func rewatch() {
        _ = watcher.watch(directories: graph.directoriesToWatch.union(searchDirectories), recursive: namedDirectories)
    }

    // MARK: what the disk tells us

    func react(to batch: ChangeBatch) -> Reaction {
        let touched = batch.changed.union(batch.removed)
        if let file = touched.first(where: { restartFiles.contains($0) }) {
            return .restartEngine(reason: "\(file) changed")
        }
        if let file = touched.first(where: { $0.hasSuffix(".pth") }) {
            return .restartEngine(reason: "\(file) changed the import paths")
        }
        guard !batch.isEmpty else { return .nothing }
        let stale = batch.needsRecrawl
            ? Set(graph.allModules)
            : graph.stale(afterChanging: batch.changed, removing: batch.removed)
        graph.markStale(stale)
        lastUpdate = LastUpdate(files: touched.count, staleModules: stale.count, at: Clock.wall())
        // A checkout that touches most of the project is cheaper to build afresh than to update.
        var rebuild = false
        if batch.gitHeadChanged {
            let projectModules = graph.moduleCount(under: directory)
            rebuild = projectModules > 0 && graph.staleModules.count * 2 > projectModules
        }
        return .update(paths: touched.sorted(), everything: batch.needsRecrawl, stale: stale, rebuild: rebuild,
                       configuration: !touched.isDisjoint(with: configFiles))
    }

    /// A check of the current files finished: nothing is stale.
    func checkedEverything() { graph.clearStale() }

    /// The watcher's and the graph's state, for `status -v`.
    func statusFields() -> JSONObject {
        let stats = watcher.stats
        var fields: JSONObject = [
            "watcher_directories": .int(stats.directoriesWatched),
            "watcher_files": .int(stats.filesWatched),
            "watcher_events": .int(stats.eventsSeen),
            "watcher_batches": .int(stats.batchesDelivered),
            "watcher_overflows": .int(stats.overflows),
            "watcher_last_overflow": stats.lastOverflow.map { .double($0) } ?? .null,
            "watcher_fallback": stats.fallbackReason.map { .string($0) } ?? .null,
            "graph_stale_modules": .int(graph.staleModules.count),
        ]
        if let lastUpdate {
            fields["last_update_files"] = .int(lastUpdate.files)
            fields["last_update_stale_modules"] = .int(lastUpdate.staleModules)
            fields["last_update_at"] = .double(lastUpdate.at)
        }
        return fields
    }
}
