/// mypy's module graph, held in Swift: module ↔ path, imports, reverse imports, the directories to
/// watch and what is stale. Fed from the engine after each build or update (`State.dependencies`
/// as `imports`, `State.suppressed` as `missing`).
///
/// What it decides: which directories are watched whole (so a new module next to the known ones
/// is seen), and, through the stale set, whether a checkout is rebuilt from scratch (more than
/// half the project stale) and what progress and `status -v` say. It does not decide whether an
/// answer may come from memory: that rests on the change generation and on the engine's evidence
/// (every path mypy looked at, watched), which cover what a module-level graph cannot (files that
/// did not parse, files that did not exist yet).
///
/// Module names are interned to integers and reverse edges kept as sets, so `stale` is a
/// breadth-first walk linear in the modules and edges it reaches, whatever the cycles.
public struct ModuleGraph {
    public struct Module: Equatable, Sendable {
        /// The file, as mypy gives it (relative paths are taken from the graph's `root`).
        public var path: String?
        /// Imported modules found in the build (`State.dependencies`).
        public var imports: [String]
        /// Imported modules mypy could not find (`State.suppressed`).
        public var missing: [String]

        public init(path: String?, imports: [String] = [], missing: [String] = []) {
            self.path = path
            self.imports = imports
            self.missing = missing
        }
    }

    /// The modules an update changed (added or replaced) and removed.
    public struct Delta: Sendable {
        public var changed: [String: Module]
        public var removed: Set<String>

        public init(changed: [String: Module] = [:], removed: Set<String> = []) {
            self.changed = changed
            self.removed = removed
        }
    }

    /// The directory relative module paths are taken from (the workspace's).
    public let root: String?

    private var ids: [String: Int] = [:]
    private var names: [String] = []
    private var modules: [Module?] = []            // by id; nil: not in the graph (only imported)
    private var importersByID: [Set<Int>] = []     // reverse edges
    private var byPath: [String: Int] = [:]
    private var missingImporters: [String: Set<Int>] = [:]
    private var rootCounts: [String: Int] = [:]

    /// Modules known to need checking (for "stale now" in status).
    public private(set) var staleModules: Set<String> = []
    /// How many modules the graph holds.
    public private(set) var count = 0

    public init(root: String? = nil) {
        self.root = root.map { PathName.normalize($0) }
    }

    // MARK: Feeding

    /// Replaces the whole graph (after a full build). Stale marks are kept.
    public mutating func replace(with modules: [String: Module]) {
        ids = [:]
        names = []
        self.modules = []
        importersByID = []
        byPath = [:]
        missingImporters = [:]
        rootCounts = [:]
        count = 0
        for (name, module) in modules { insert(name, module) }
    }

    /// Applies what an update changed.
    public mutating func apply(delta: Delta) {
        for name in delta.removed { remove(name) }
        for (name, module) in delta.changed { insert(name, module) }
    }

    private mutating func intern(_ name: String) -> Int {
        if let id = ids[name] { return id }
        let id = names.count
        ids[name] = id
        names.append(name)
        modules.append(nil)
        importersByID.append([])
        return id
    }

    private mutating func insert(_ name: String, _ module: Module) {
        remove(name)
        let id = intern(name)
        var module = module
        module.path = module.path.map(normalize)
        modules[id] = module
        count += 1
        for imported in Set(module.imports) where imported != name {
            importersByID[intern(imported)].insert(id)
        }
        for missing in Set(module.missing) { missingImporters[missing, default: []].insert(id) }
        if let path = module.path {
            byPath[path] = id
            if let root = ModuleNames.sourceRoot(module: name, path: path) { rootCounts[root, default: 0] += 1 }
        }
    }

    private mutating func remove(_ name: String) {
        guard let id = ids[name], let module = modules[id] else { return }
        for imported in Set(module.imports) where imported != name {
            if let importedID = ids[imported] { importersByID[importedID].remove(id) }
        }
        for missing in Set(module.missing) {
            missingImporters[missing]?.remove(id)
            if missingImporters[missing]?.isEmpty == true { missingImporters[missing] = nil }
        }
        if let path = module.path {
            if byPath[path] == id { byPath[path] = nil }
            if let root = ModuleNames.sourceRoot(module: name, path: path) {
                rootCounts[root, default: 1] -= 1
                if rootCounts[root] == 0 { rootCounts[root] = nil }
            }
        }
        modules[id] = nil
        count -= 1
    }

    private func normalize(_ path: String) -> String { PathName.normalize(path, relativeTo: root) }

    // MARK: Lookups

    public func module(forPath path: String) -> String? {
        byPath[normalize(path)].map { names[$0] }
    }

    /// The module's file, absolute and normalized.
    public func path(forModule name: String) -> String? {
        ids[name].flatMap { modules[$0]?.path }
    }

    /// How many modules have their file below `directory` (the project's own, say).
    public func moduleCount(under directory: String) -> Int {
        let directory = normalize(directory)
        return byPath.keys.reduce(0) { $0 + (PathName.isUnder($1, directory) ? 1 : 0) }
    }

    /// Every module the graph holds.
    public var allModules: [String] {
        names.indices.compactMap { modules[$0] != nil ? names[$0] : nil }
    }

    public func contains(_ name: String) -> Bool { ids[name].map { modules[$0] != nil } ?? false }

    /// The modules that import `name` directly.
    public func importers(of name: String) -> Set<String> {
        guard let id = ids[name] else { return [] }
        return Set(importersByID[id].map { names[$0] })
    }

    /// The parent directory of every module's file (which of them to watch recursively is the
    /// daemon's decision; `sourceRoots` helps).
    public var directoriesToWatch: Set<String> {
        Set(byPath.keys.map(PathName.parent))
    }

    /// The directories the modules' paths show to be source roots (`/r` for `a.b` at `/r/a/b.py`).
    public var sourceRoots: Set<String> { Set(rootCounts.keys) }

    // MARK: Staleness

    /// The modules a change makes stale: each module whose file changed or was removed, every
    /// module that imports one of them, transitively; and for a file the graph does not hold, the
    /// modules it may now satisfy:
    /// - a candidate name (see `ModuleNames`: under every source root containing it) that is in the
    ///   graph: a new stub or `__init__.py` that takes precedence over the file mypy had found;
    /// - modules whose `missing` imports name that module or one of its parent packages (a new
    ///   file can make its directory a namespace package);
    /// - for a new `py.typed`, modules missing its package or anything inside it.
    ///
    /// A removed path that is not a module file is taken as a directory: every module below it.
    /// A new file that matches nothing makes nothing stale; whether it is a new source to check
    /// is the daemon's question (its command line names the sources).
    public func stale(afterChanging changed: Set<String>, removing removed: Set<String>) -> Set<String> {
        var seeds: [Int] = []
        for raw in changed {
            let path = normalize(raw)
            if let id = byPath[path] { seeds.append(id) } else { seeds += satisfied(byNew: path) }
        }
        for raw in removed {
            let path = normalize(raw)
            if let id = byPath[path] {
                seeds.append(id)
            } else if !path.hasSuffix(".py") && !path.hasSuffix(".pyi") {
                seeds += byPath.compactMap { PathName.isUnder($0.key, path) ? $0.value : nil }
            }
        }
        return Set(closure(of: seeds).map { names[$0] })
    }

    /// The modules a file or directory the graph does not hold may satisfy.
    private func satisfied(byNew path: String) -> [Int] {
        var seeds: [Int] = []
        if PathName.lastComponent(path) == "py.typed" {
            let package = PathName.parent(path)
            for root in rootCounts.keys {
                guard let name = ModuleNames.moduleName(path: package, root: root) else { continue }
                for (missing, importers) in missingImporters
                where missing == name || missing.hasPrefix(name + ".") {
                    seeds += importers
                }
            }
            return seeds
        }
        for root in rootCounts.keys {
            guard let name = ModuleNames.moduleName(path: path, root: root) else { continue }
            if let id = ids[name], modules[id] != nil { seeds.append(id) }
            var prefix = Substring(name)
            while true {
                if let importers = missingImporters[String(prefix)] { seeds += importers }
                guard let dot = prefix.lastIndex(of: ".") else { break }
                prefix = prefix[..<dot]
            }
        }
        return seeds
    }

    /// `seeds` and everything that imports them, transitively (reverse edges, breadth first).
    private func closure(of seeds: [Int]) -> [Int] {
        var seen = [Bool](repeating: false, count: names.count)
        var queue: [Int] = []
        for seed in seeds where !seen[seed] {
            seen[seed] = true
            queue.append(seed)
        }
        var head = 0
        while head < queue.count {
            let id = queue[head]
            head += 1
            for importer in importersByID[id] where !seen[importer] {
                seen[importer] = true
                queue.append(importer)
            }
        }
        return queue
    }

    /// Records modules as needing a check (typically `stale(afterChanging:removing:)`'s answer).
    public mutating func markStale(_ modules: Set<String>) {
        staleModules.formUnion(modules)
    }

    /// Records modules as checked.
    public mutating func clearStale(_ modules: Set<String>) {
        staleModules.subtract(modules)
    }

    /// Records everything as checked (after an update of everything stale).
    public mutating func clearStale() {
        staleModules.removeAll()
    }
}
