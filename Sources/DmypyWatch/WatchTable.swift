/// What the watcher wants from one directory.
struct Interest: Equatable {
    /// Report every reportable file and subdirectory (a source directory).
    var full = false
    /// Watch its subdirectories too (it is, or lies below, a recursive root).
    var recursive = false
    /// Names reported whatever they are (single files from `watch(files:)`; `HEAD` in `.git`).
    var names: Set<String> = []
    /// A `.git` directory: nothing but `names` is reported from it.
    var isGit = false

    func reports(_ name: String) -> Bool {
        names.contains(name) || (full && !isGit && ChangeFilter.isReportableFile(name))
    }

    func reportsDirectory(_ name: String) -> Bool {
        full && !isGit && !ChangeFilter.isIgnoredDirectory(name)
    }
}

/// One watched directory.
struct WatchedDirectory {
    let path: String
    var interest: Interest
    /// The reportable files known to exist in it (from the scan when it was added, kept up to
    /// date by events), so that a directory deleted or moved away reports what it held.
    var files: Set<String> = []
}

/// The map between inotify watch descriptors and directories (watchman's `wd → dir` map).
///
/// A descriptor we removed ourselves is kept as retired until the kernel's `IN_IGNORED` for it
/// arrives: events still queued for it are dropped quietly, and only a descriptor that is neither
/// live nor retired counts as unknown (and asks for a recrawl).
struct WatchTable {
    private(set) var byWatch: [Int32: WatchedDirectory] = [:]
    private(set) var byPath: [String: Int32] = [:]
    private(set) var retired: Set<Int32> = []
    /// Bumped by every insert and retire.
    private(set) var version = 0

    var count: Int { byWatch.count }

    subscript(watch: Int32) -> WatchedDirectory? {
        get { byWatch[watch] }
        set {
            precondition(newValue != nil, "remove watches with retire(_:)")
            byWatch[watch] = newValue
        }
    }

    func watch(for path: String) -> Int32? { byPath[path] }

    mutating func insert(_ directory: WatchedDirectory, watch: Int32) {
        byWatch[watch] = directory
        byPath[directory.path] = watch
        retired.remove(watch)
        version += 1
    }

    /// Forgets a live descriptor; its late events will be dropped until `IN_IGNORED`.
    mutating func retire(_ watch: Int32) -> WatchedDirectory? {
        guard let directory = byWatch.removeValue(forKey: watch) else { return nil }
        byPath[directory.path] = nil
        retired.insert(watch)
        version += 1
        return directory
    }

    /// True when the descriptor was retired (and is now forgotten if this was its `IN_IGNORED`).
    mutating func isRetired(_ watch: Int32, finally: Bool) -> Bool {
        guard retired.contains(watch) else { return false }
        if finally { retired.remove(watch) }
        return true
    }

    /// The descriptors of `path` and every watched directory below it.
    func subtree(_ path: String) -> [Int32] {
        byPath.compactMap { PathName.isUnder($0.key, path) ? $0.value : nil }
    }
}
