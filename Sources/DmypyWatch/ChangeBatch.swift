/// The changes of one settled burst of file events.
///
/// Within a burst the last event for a path decides: a file removed and created again (vim's
/// rename-to-backup save, an atomic rename over it) is `changed`; a file created and removed again
/// is `removed`, even if the daemon never knew it (removing an unknown path is harmless to the graph,
/// and reporting it keeps the rule one line long).
public struct ChangeBatch: Equatable, Sendable {
    /// Created or modified files and directories, absolute paths.
    public var changed: Set<String> = []
    /// Removed (or moved away) files and directories, absolute paths; a removed directory comes
    /// with every reportable file the watcher knew under it.
    public var removed: Set<String> = []
    /// Events were lost (queue overflow, an unknown watch descriptor) or the watcher is in fallback:
    /// the lists are incomplete and the daemon must rescan (mypy's stat-based scan).
    public var needsRecrawl = false
    /// `.git/HEAD` was written: a checkout or branch switch, expect many changes.
    public var gitHeadChanged = false
    /// How many kernel events contributed to this batch.
    public var eventCount = 0

    public init(changed: Set<String> = [], removed: Set<String> = [], needsRecrawl: Bool = false,
                gitHeadChanged: Bool = false, eventCount: Int = 0) {
        self.changed = changed
        self.removed = removed
        self.needsRecrawl = needsRecrawl
        self.gitHeadChanged = gitHeadChanged
        self.eventCount = eventCount
    }

    public var isEmpty: Bool { changed.isEmpty && removed.isEmpty && !needsRecrawl && !gitHeadChanged }
}

/// The burst being collected: one flag per path, the last event wins (watchman's PendingCollection).
struct PendingChanges {
    private var paths: [String: Bool] = [:]   // true: changed, false: removed
    var needsRecrawl = false
    var gitHeadChanged = false
    var eventCount = 0
    /// How many paths have been recorded, repeats included (so a caller can tell whether a step recorded any).
    private(set) var recordCount = 0

    var isEmpty: Bool { paths.isEmpty && !needsRecrawl && !gitHeadChanged }

    mutating func changed(_ path: String) { record(path, exists: true) }
    mutating func removed(_ path: String) { record(path, exists: false) }

    private mutating func record(_ path: String, exists: Bool) {
        paths[path] = exists
        recordCount += 1
        if path.hasSuffix("/.git/HEAD") { gitHeadChanged = true }
    }

    func batch() -> ChangeBatch {
        var batch = ChangeBatch(needsRecrawl: needsRecrawl, gitHeadChanged: gitHeadChanged, eventCount: eventCount)
        for (path, exists) in paths {
            if exists { batch.changed.insert(path) } else { batch.removed.insert(path) }
        }
        return batch
    }
}
