import DmypyEngine
import DmypySystem
import DmypyWatch
import DmypyWire

/// What a workspace knows about the files its build reads: an inotify watcher over every
/// directory holding one (the modules' directories, mypy's search paths, the directories named on
/// the command line, recursively), mypy's module graph as the engine exports it, and the files
/// whose change makes the running engine wrong (configuration, plugins, mypy itself).
///
/// It turns each settled batch of file events into what the workspace must do about it, and says
/// whether an answer may be given from memory: only with positive evidence that every file and
/// directory mypy looked at for the build (the engine's `Evidence`: also files that did not
/// exist or did not parse) is under a live watch, so that any change to them bumps the generation.
final class FileTracking {
    enum Reaction: Equatable {
        /// Nothing the build reads changed.
        case nothing
        /// A plugin, a `.pth` file or mypy itself changed: a new engine is needed. `notice` is what
        /// mypy's `dmypy run` would say about it (nothing, for a `.pth` file).
        case restartEngine(reason: String, notice: RestartNotice?)
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
    /// What the engine looked at (files, and missing paths), and the directories it listed.
    private var evidenceFiles: Set<String> = []
    private var evidenceDirectories: Set<String> = []
    /// `hasEvidence`, as computed for this watch table and this evidence.
    private var evidenceVerdict: (watches: Int, evidence: Int, covered: Bool)?
    private var evidenceVersion = 0
    /// The next reply's evidence replaces what is known (a new engine reports all of it at once).
    private var evidenceIsReplaced = false

    init(loop: EventLoop, directory: String) throws(SystemError) {
        self.directory = PathName.normalize(directory)
        watcher = try Watcher(loop: loop)
        graph = ModuleGraph(root: self.directory)
    }

    func close() { watcher.close() }

    var isReliable: Bool { watcher.state == .watching }

    /// Whether every path the engine's answers rest on is under a live watch now (and the watcher
    /// has lost nothing): the positive evidence an answer from memory needs.
    var hasEvidence: Bool {
        guard isReliable else { return false }
        if let verdict = evidenceVerdict, verdict.watches == watcher.watchesVersion, verdict.evidence == evidenceVersion {
            return verdict.covered
        }
        let covered = uncovered(files: evidenceFiles, directories: evidenceDirectories).isEmpty
        evidenceVerdict = (watcher.watchesVersion, evidenceVersion, covered)
        return covered
    }

    private func uncovered(files: some Sequence<String>, directories: some Sequence<String>) -> [String] {
        files.filter { !watcher.reportsChanges(to: $0) } + directories.filter { !watcher.reportsListing(of: $0) }
    }

    // MARK: what the engine tells us

    /// The files the engine named at its start: `restart_files` (plugins, mypy) and
    /// `config_files` (every place mypy may read its configuration from).
    func setEngineFiles(_ start: EngineStart) {
        restartFiles = Set(start.restartFiles.map { PathName.normalize($0, relativeTo: directory) })
        configFiles = Set(start.configFiles.map { PathName.normalize($0, relativeTo: directory) })
        rewatchFiles()
        if let evidence = start.cache?.evidence, start.cache?.warm == true {
            // The build a cache slot holds looked at these: watched now, before the load reads them.
            apply(RequestOutcome(response: [:], evidence: evidence))
        }
    }

    /// A fresh engine exports its whole graph and its evidence again. The old engine's evidence
    /// stays watched until the new one's first reply replaces it: what the new one reads while it
    /// builds is then under the watches that were live all along.
    func forgetGraph() {
        graph = ModuleGraph(root: directory)
        searchDirectories = []
        evidenceIsReplaced = true
    }

    /// What applying an engine reply recorded.
    struct Recorded {
        /// Paths the reply's answer rests on that had no live watch while mypy looked at them (they
        /// are watched now): a change made meanwhile would have gone unseen.
        var unwatchedWhileChecking: [String]
    }

    /// Applies the graph, search paths and evidence of an engine reply, and watches what they add.
    @discardableResult
    func apply(_ outcome: RequestOutcome) -> Recorded {
        let recorded = Recorded(unwatchedWhileChecking: unwatchedWhileChecking(outcome))
        record(outcome)
        return recorded
    }

    /// The paths a reply's answer rests on that have no live watch now (before `record` watches them).
    func unwatchedWhileChecking(_ outcome: RequestOutcome) -> [String] {
        uncovered(files: outcome.evidence.files, directories: outcome.evidence.directories)
    }

    /// The graph, search paths and evidence of an engine reply, kept, and what they add watched.
    func record(_ outcome: RequestOutcome) {
        var changedWatchSet = false
        if let changes = outcome.graph {
            var delta = ModuleGraph.Delta()
            for entry in changes.changed {
                delta.changed[entry.name] = ModuleGraph.Module(path: entry.path, imports: entry.imports, missing: entry.missing)
            }
            delta.removed = Set(changes.removed)
            graph.apply(delta: delta)
            changedWatchSet = true
        }
        if let directories = outcome.searchDirectories {
            searchDirectories = Set(directories)
            changedWatchSet = true
        }
        if !outcome.evidence.isEmpty || evidenceIsReplaced {
            if evidenceIsReplaced {
                evidenceIsReplaced = false
                evidenceFiles = []
                evidenceDirectories = []
            }
            evidenceFiles.formUnion(outcome.evidence.files)
            evidenceDirectories.formUnion(outcome.evidence.directories)
            evidenceVersion += 1
            changedWatchSet = true
            rewatchFiles()
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
        _ = watcher.watch(directories: graph.directoriesToWatch.union(searchDirectories).union(evidenceDirectories),
                          recursive: namedDirectories)
    }

    private func rewatchFiles() {
        _ = watcher.watch(files: restartFiles.union(configFiles).union(evidenceFiles))
    }

    // MARK: what the disk tells us

    func react(to batch: ChangeBatch) -> Reaction {
        let touched = batch.changed.union(batch.removed)
        if let file = touched.sorted().first(where: { restartFiles.contains($0) }) {
            let isMypy = file.hasSuffix("/mypy/version.py")
            return .restartEngine(reason: "\(file) changed", notice: isMypy ? .mypyVersionChanged : .pluginsChanged)
        }
        if let file = touched.first(where: { $0.hasSuffix(".pth") }) {
            return .restartEngine(reason: "\(file) changed the import paths", notice: nil)
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
            "evidence_files": .int(evidenceFiles.count),
            "evidence_directories": .int(evidenceDirectories.count),
            "evidence_complete": .bool(hasEvidence),
        ]
        if isReliable, !hasEvidence {
            let unwatched = uncovered(files: evidenceFiles, directories: evidenceDirectories).sorted()
            fields["evidence_unwatched"] = .string("\(unwatched.count): " + unwatched.prefix(3).joined(separator: ", "))
        }
        if let lastUpdate {
            fields["last_update_files"] = .int(lastUpdate.files)
            fields["last_update_stale_modules"] = .int(lastUpdate.staleModules)
            fields["last_update_at"] = .double(lastUpdate.at)
        }
        return fields
    }
}
