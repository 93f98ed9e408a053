import DmypySystem

/// inotify over a set of directories, delivering settled batches of changes on the daemon's loop.
///
/// What is watched comes from three sets, each replaced as a whole by the calls below:
/// - `directories`: every reportable file and subdirectory in them (the parents of the graph's modules);
/// - `recursive`: the same for the whole tree below them. A directory that appears later (created
///   or moved in) is watched and then listed, and what the listing finds is reported as changed, so
///   files created between `mkdir` and the watch are not missed. Names mypy's source discovery skips
///   (`ChangeFilter.isIgnoredDirectory`) are not descended into; of `.git` only `HEAD` is watched;
/// - `files`: single files such as `mypy.ini` or `pyproject.toml`, through their parent directory
///   and a name filter, so an atomic save (a temporary renamed over the file) is seen.
///
/// A directory that appears in a watched source directory (a new package) is watched from then on
/// with everything below it, as if it were a recursive root, until it goes: watched, then listed,
/// like one that appears in a recursive tree.
///
/// Lost events (`IN_Q_OVERFLOW`, a descriptor we do not know, a failed read) never crash: the watches
/// are resynchronized with the disk and the next batch has `needsRecrawl`. Running out of watches
/// (ENOSPC) puts the watcher in a sticky `fallback` state (watchman's poison).
///
/// Nothing is printed: failures are returned or kept in `state` and `stats`; the daemon logs them.
public final class Watcher {
    /// Called on the loop with each settled batch.
    public var onBatch: (ChangeBatch) -> Void = { _ in }
    public private(set) var state: State = .watching

    private let loop: EventLoop
    private let inotify: FileDescriptor
    private var registration: EventLoop.Registration?
    private var debouncer: Debouncer?
    private(set) var table = WatchTable()
    private var pending = PendingChanges()
    private var counters = Stats()
    private var closed = false

    private var directories: Set<String> = []
    private var wantedRecursiveRoots: Set<String> = []
    /// Directories that appeared in a watched source directory since it was watched.
    private var appearedRoots: Set<String> = []
    /// `wantedRecursiveRoots` and `appearedRoots`.
    private var recursiveRoots: Set<String> { wantedRecursiveRoots.union(appearedRoots) }
    private var walkedRoots: Set<String> = []
    private var fileNames: [String: Set<String>] = [:]
    private var fileCount: Int { fileNames.values.reduce(0) { $0 + $1.count } }

    static let eventMask: Inotify.Mask = [
        .create, .delete, .modify, .closeWrite, .attrib, .movedFrom, .movedTo,
        .deleteSelf, .moveSelf, .onlyDirectory, .excludeUnlinked,
    ]

    /// - Parameters:
    ///   - debounce: seconds of quiet after the last event before a batch is delivered.
    ///   - maximumDelay: a batch is delivered at most this long after its first event.
    public init(loop: EventLoop, debounce: Double = 0.05, maximumDelay: Double = 0.5) throws(SystemError) {
        self.loop = loop
        inotify = try Inotify.create()
        do throws(SystemError) {
            debouncer = try Debouncer(loop: loop, debounce: debounce, maximumDelay: maximumDelay) { [weak self] in
                self?.settled()
            }
            registration = try loop.register(inotify, .input) { [weak self] _ in self?.readKernelEvents() }
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Stops watching and releases the inotify descriptor and the timer.
    public func close() {
        guard !closed else { return }
        closed = true
        if let registration { loop.deregister(registration) }
        registration = nil
        debouncer?.close()
        inotify.close()
    }

    // MARK: What to watch

    /// Watches exactly these directories (and the trees below `recursive`), adding the new ones and
    /// removing the ones no longer wanted. Relative paths are taken from the working directory.
    /// Returns the directories that could not be watched (missing, unreadable, out of watches).
    @discardableResult
    public func watch(directories: Set<String>, recursive: Set<String> = []) -> [WatchFailure] {
        self.directories = Set(directories.map(Self.absolute))
        wantedRecursiveRoots = Set(recursive.map(Self.absolute))
        walkedRoots.formIntersection(recursiveRoots)
        return reconcile()
    }

    /// Watches exactly these single files (through their parent directories).
    @discardableResult
    public func watch(files: Set<String>) -> [WatchFailure] {
        var names: [String: Set<String>] = [:]
        for file in files.map(Self.absolute) {
            names[PathName.parent(file), default: []].insert(String(PathName.lastComponent(file)))
        }
        fileNames = names
        return reconcile()
    }

    /// The directories with a live watch, sorted.
    public var watchedDirectories: [String] { table.byPath.keys.sorted() }

    public var stats: Stats {
        var stats = counters
        stats.directoriesWatched = table.count
        stats.filesWatched = fileCount
        if case .fallback(let failure) = state { stats.fallbackReason = failure.description }
        return stats
    }

    // MARK: Batches

    /// Reads everything the kernel has queued now and returns the pending changes at once, without
    /// waiting for the burst to settle; they are not also delivered to `onBatch`. Call before
    /// answering a request: inotify queues an event during the writer's own system call, so a save
    /// made before the request is in this batch. Nil when nothing is pending.
    public func drainNow() -> ChangeBatch? {
        readKernelEvents()
        return takeBatch()
    }

    private func settled() {
        if let batch = takeBatch() { onBatch(batch) }
    }

    private func takeBatch() -> ChangeBatch? {
        debouncer?.cancel()
        guard !pending.isEmpty else { return nil }
        var batch = pending.batch()
        if case .fallback = state { batch.needsRecrawl = true }
        pending = PendingChanges()
        counters.batchesDelivered += 1
        return batch
    }

    private func record(_ path: String, exists: Bool) {
        if exists { pending.changed(path) } else { pending.removed(path) }
    }

    // MARK: Kernel events

    private func readKernelEvents() {
        guard !closed else { return }
        do throws(SystemError) {
            handle(try Inotify.drain(inotify))
        } catch {
            requestRecrawl()   // the events in the failed read are lost
        }
    }

    /// Applies events read from the kernel: the one path from `read(2)` to the pending batch
    /// (tests feed it events the kernel cannot be made to send, such as `IN_Q_OVERFLOW`).
    func handle(_ events: [Inotify.Event]) {
        var lostEvents = false
        var relevant = false
        for event in events {
            counters.eventsSeen += 1
            if event.mask.contains(.queueOverflow) {
                counters.overflows += 1
                counters.lastOverflow = Clock.wall()
                lostEvents = true
                continue
            }
            guard let directory = table[event.watch] else {
                // Late events of a watch we removed are expected; anything else means we lost track.
                if !table.isRetired(event.watch, finally: event.mask.contains(.ignored)) { lostEvents = true }
                continue
            }
            if apply(event, in: directory) {
                pending.eventCount += 1
                relevant = true
            }
        }
        if lostEvents { requestRecrawl() }
        if relevant { debouncer?.noteEvent() }
    }

    /// Records what one event means; returns whether it recorded anything.
    private func apply(_ event: Inotify.Event, in directory: WatchedDirectory) -> Bool {
        let before = pending.recordCount
        recordChanges(event, in: directory)
        return pending.recordCount > before
    }

    private func recordChanges(_ event: Inotify.Event, in directory: WatchedDirectory) {
        let mask = event.mask
        let gone: Inotify.Mask = [.delete, .movedFrom]
        if event.name.isEmpty {
            if !mask.isDisjoint(with: [.deleteSelf, .moveSelf, .unmount, .ignored]) { removeTree(directory.path) }
            return
        }
        let path = PathName.join(directory.path, event.name)
        let interest = directory.interest
        if mask.contains(.isDirectory) {
            // A directory named by `watch(files:)` (a path mypy found missing) counts as well.
            let named = interest.names.contains(event.name)
            if !mask.isDisjoint(with: gone) {
                removeTree(path)
                if interest.reportsDirectory(event.name) || named { record(path, exists: false) }
            } else if !mask.isDisjoint(with: [.create, .movedTo]) {
                if interest.reportsDirectory(event.name) || named { record(path, exists: true) }
                if interest.recursive && Self.descends(into: event.name) {
                    _ = walk(path, report: true)
                } else if interest.reportsDirectory(event.name) {
                    appearedRoots.insert(path)
                    walkedRoots.insert(path)
                    _ = walk(path, report: true)
                }
            }
            return
        }
        guard interest.reports(event.name) else { return }
        if !mask.isDisjoint(with: gone) {
            table[event.watch]?.files.remove(event.name)
            record(path, exists: false)
        } else {
            table[event.watch]?.files.insert(event.name)
            record(path, exists: true)
        }
    }

    /// Events were lost: resynchronize the watches with the disk and flag the batch.
    private func requestRecrawl() {
        counters.recrawlsRequested += 1
        pending.needsRecrawl = true
        for (watch, directory) in table.byWatch {
            guard FileSystem.isDirectory(directory.path) else {
                forget(watch)
                continue
            }
            if !directory.interest.recursive {
                table[watch]?.files = Self.reportedFiles(DirectoryListing.entries(directory.path) ?? [], directory.interest)
            }
        }
        forgetAppeared { !FileSystem.isDirectory($0) }
        walkedRoots.removeAll()   // every recursive tree is walked again, its listings refreshed
        _ = reconcile()
        debouncer?.noteEvent()
    }

    func enterFallback(_ failure: WatchFailure) {
        guard case .watching = state else { return }
        state = .fallback(failure)
        pending.needsRecrawl = true
        debouncer?.noteEvent()
    }

    // MARK: Watches

    private static func absolute(_ path: String) -> String {
        PathName.normalize(path, relativeTo: path.hasPrefix("/") ? nil : FileSystem.currentDirectory())
    }

    private static func descends(into name: String) -> Bool {
        name == ".git" || !ChangeFilter.isIgnoredDirectory(name)
    }

    /// Brings the watches in line with the wanted sets.
    private func reconcile() -> [WatchFailure] {
        guard !closed else { return [] }
        for (watch, directory) in table.byWatch {
            guard let interest = interest(for: directory.path) else {
                forget(watch)
                continue
            }
            if interest != directory.interest {
                table[watch]?.interest = interest
                let entries = DirectoryListing.entries(directory.path) ?? []
                table[watch]?.files = Self.reportedFiles(entries, interest)
            }
        }
        var failures: [WatchFailure] = []
        for path in directories.union(fileNames.keys).subtracting(recursiveRoots).sorted()
        where table.watch(for: path) == nil {
            guard let interest = interest(for: path) else { continue }
            if case .failure(let failure) = add(path, interest, followLinks: true) { failures.append(failure) }
        }
        for root in recursiveRoots.sorted() where !walkedRoots.contains(root) || table.watch(for: root) == nil {
            failures += walk(root, report: false)
            walkedRoots.insert(root)
        }
        return failures
    }

    /// Watches `root` and every directory below it that its interest descends into. With `report`,
    /// everything found is recorded as changed (a directory that just appeared).
    private func walk(_ root: String, report: Bool) -> [WatchFailure] {
        var failures: [WatchFailure] = []
        var stack = [root]
        while let path = stack.popLast() {
            guard let interest = interest(for: path) else { continue }
            switch add(path, interest, followLinks: path == root && !report) {
            case .failure(let failure):
                failures.append(failure)
                if case .fallback = state { return failures }
            case .success(let entries):
                for entry in entries {
                    let child = PathName.join(path, entry.name)
                    if entry.kind == .directory {
                        guard interest.recursive, Self.descends(into: entry.name) else { continue }
                        if report && interest.reportsDirectory(entry.name) { record(child, exists: true) }
                        stack.append(child)
                    } else if report && interest.reports(entry.name) {
                        record(child, exists: true)
                    }
                }
            }
        }
        return failures
    }

    /// Watches one directory, then lists it (in that order: a file created in between is both
    /// listed and reported by an event, never neither). Returns the listing.
    private func add(_ path: String, _ interest: Interest, followLinks: Bool) -> Result<[DirectoryEntry], WatchFailure> {
        if case .fallback(let failure) = state { return .failure(failure) }
        let watch: Int32
        do throws(SystemError) {
            watch = try Inotify.addWatch(inotify, path: path,
                                         mask: followLinks ? Self.eventMask : Self.eventMask.union(.dontFollow))
        } catch {
            let failure = WatchFailure(path: path, error: error)
            if failure.isOutOfWatches { enterFallback(failure) }
            return .failure(failure)
        }
        if let existing = table[watch], existing.path != path {
            // The kernel gives one watch per inode. The same directory under a second name (a
            // symlink, a bind mount) is watched once, reported under its first name.
            if let identity = DirectoryListing.identity(path), identity == DirectoryListing.identity(existing.path) {
                return .success([])
            }
            // Or it was moved here from a watched place whose parent we do not watch (the
            // MOVE_SELF is still queued): that place is gone; watch it afresh under this name.
            removeTree(existing.path)
            return add(path, interest, followLinks: followLinks)
        }
        if let stale = table.watch(for: path), stale != watch {
            forget(stale)   // the directory was replaced while events were lost
        }
        let entries = DirectoryListing.entries(path) ?? []
        var directory = table[watch] ?? WatchedDirectory(path: path, interest: interest)
        directory.interest = interest
        directory.files = Self.reportedFiles(entries, interest)
        table.insert(directory, watch: watch)
        return .success(entries)
    }

    private static func reportedFiles(_ entries: [DirectoryEntry], _ interest: Interest) -> Set<String> {
        Set(entries.lazy.filter { $0.kind != .directory && interest.reports($0.name) }.map(\.name))
    }

    /// Removes a watch without reporting anything.
    private func forget(_ watch: Int32) {
        guard table.retire(watch) != nil else { return }
        Inotify.removeWatch(inotify, watch: watch)
    }

    /// Stops watching `path` and every directory below it, reporting those directories and the
    /// files known in them as removed.
    private func removeTree(_ path: String) {
        forgetAppeared { PathName.isUnder($0, path) }
        for watch in table.subtree(path) {
            guard let directory = table.retire(watch) else { continue }
            Inotify.removeWatch(inotify, watch: watch)
            for name in directory.files { record(PathName.join(directory.path, name), exists: false) }
            if !directory.interest.isGit { record(directory.path, exists: false) }
        }
    }

    private func forgetAppeared(where gone: (String) -> Bool) {
        let forgotten = appearedRoots.filter(gone)
        guard !forgotten.isEmpty else { return }
        appearedRoots.subtract(forgotten)
    }

    private func isRecursiveRoot(_ path: String) -> Bool {
        wantedRecursiveRoots.contains(path) || appearedRoots.contains(path)
    }

    /// Whether a change to `path` (written, created, removed) would be reported now: its directory
    /// has a live watch whose interest includes the name.
    public func reportsChanges(to path: String) -> Bool {
        let path = Self.absolute(path)
        guard let watch = table.watch(for: PathName.parent(path)), let directory = table[watch] else { return false }
        let name = String(PathName.lastComponent(path))
        return directory.interest.reports(name) || directory.interest.reportsDirectory(name)
    }

    /// Whether a file appearing in or leaving `directory` would be reported now.
    public func reportsListing(of directory: String) -> Bool {
        guard let watch = table.watch(for: Self.absolute(directory)), let watched = table[watch] else { return false }
        return watched.interest.full
    }

    /// Changes whenever a watch is added or removed.
    public var watchesVersion: Int { table.version }

    /// What the wanted sets ask of `path`, or nil when it should not be watched.
    func interest(for path: String) -> Interest? {
        var interest = Interest()
        interest.recursive = isRecursiveRoot(path)
        interest.full = interest.recursive || directories.contains(path)
        interest.names = fileNames[path] ?? []
        interest.isGit = PathName.lastComponent(path) == ".git"
        if !interest.recursive, let inherited = inheritedInterest(path) {
            interest.full = interest.full || inherited.full
            interest.recursive = inherited.recursive
            interest.names.formUnion(inherited.names)
        }
        return interest.full || !interest.names.isEmpty ? interest : nil
    }

    /// What `path` inherits from the nearest recursive root above it: everything, `HEAD` for a
    /// `.git`, nothing below a name that is not descended into.
    private func inheritedInterest(_ path: String) -> Interest? {
        guard !wantedRecursiveRoots.isEmpty || !appearedRoots.isEmpty else { return nil }
        var ancestor = path
        var names: [Substring] = []   // from `path`'s own name upwards
        while ancestor != "/" && ancestor != "." {
            names.append(PathName.lastComponent(ancestor))
            ancestor = PathName.parent(ancestor)
            guard isRecursiveRoot(ancestor) else { continue }
            if names.dropFirst().contains(where: { ChangeFilter.isIgnoredDirectory($0) }) { return nil }
            if names[0] == ".git" { return Interest(names: ["HEAD"], isGit: true) }
            if ChangeFilter.isIgnoredDirectory(names[0]) { return nil }
            return Interest(full: true, recursive: true)
        }
        return nil
    }
}
