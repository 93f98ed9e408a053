import DmypySystem
import Glibc
import Testing
@testable import DmypyWatch

/// Real inotify on real temporary directories, driven through a real EventLoop.
@Suite(.serialized) struct WatcherTests {
    /// A same-size rewrite within the same second: mypy's stat check misses it; inotify must not.
    @Test func sameSizeEditInTheSameSecondIsReported() throws {
        let h = try WatchHarness()
        let a = h.path("a.py")
        try write(a, "x = 1\n")
        #expect(h.watcher.watch(directories: [h.root]).isEmpty)
        try write(a, "x = 2\n")
        let first = try h.nextBatch()
        #expect(first.changed == [a] && first.removed.isEmpty && !first.needsRecrawl)
        try write(a, "x = 3\n")
        #expect(try h.nextBatch().changed == [a])
    }

    @Test func createAndDelete() throws {
        let h = try WatchHarness()
        h.watcher.watch(directories: [h.root])
        let b = h.path("b.py"), stub = h.path("c.pyi"), pth = h.path("extra.pth"), typed = h.path("py.typed")
        try write(b, "")
        try write(stub, "")
        try write(pth, "")
        try write(typed, "")
        try write(h.path("notes.txt"), "not Python")
        let created = try h.changes { $0.changed.isSuperset(of: [b, stub, pth, typed]) }
        #expect(created.changed == [b, stub, pth, typed])
        try delete(b)
        let deleted = try h.changes { $0.removed.contains(b) }
        #expect(deleted.removed == [b] && deleted.changed.isEmpty)
    }

    @Test func renameWithinADirectory() throws {
        let h = try WatchHarness()
        let a = h.path("a.py"), c = h.path("c.py")
        try write(a, "x = 1\n")
        h.watcher.watch(directories: [h.root])
        try move(a, c)
        let changes = try h.changes { $0.removed.contains(a) && $0.changed.contains(c) }
        #expect(changes.removed == [a] && changes.changed == [c])
    }

    /// Write a temporary, rename it over the target: the target is reported changed, the
    /// temporary not at all. Then vim's way: rename to a backup, write anew, delete the backup.
    @Test func atomicSaves() throws {
        let h = try WatchHarness()
        let a = h.path("a.py")
        try write(a, "x = 1\n")
        h.watcher.watch(directories: [h.root])
        try write(h.path("a.py.4242.tmp"), "x = 2\n")
        try move(h.path("a.py.4242.tmp"), a)
        let batch = try h.nextBatch()
        #expect(batch.changed == [a] && batch.removed.isEmpty)

        try move(a, h.path("a.py~"))
        try write(h.path("4913"), "")
        try delete(h.path("4913"))
        try write(a, "x = 3\n")
        try delete(h.path("a.py~"))
        let vim = try h.changes { $0.changed.contains(a) }
        #expect(vim.changed == [a] && vim.removed.isEmpty)
    }

    @Test func moveOutOfAndIntoTheTree() throws {
        let h = try WatchHarness()
        let src = h.path("src"), out = h.path("out")
        try makeDirectory(src)
        try makeDirectory(out)
        try makeDirectory(src + "/pkg")
        try write(src + "/a.py", "")
        try write(src + "/pkg/__init__.py", "")
        try write(src + "/pkg/m.py", "")
        #expect(h.watcher.watch(directories: [], recursive: [src]).isEmpty)
        #expect(h.watcher.watchedDirectories == [src, src + "/pkg"])

        try move(src + "/a.py", out + "/a.py")
        try move(src + "/pkg", out + "/pkg")   // no event per file: the watcher must know them
        let expected: Set = [src + "/a.py", src + "/pkg", src + "/pkg/__init__.py", src + "/pkg/m.py"]
        let changes = try h.changes { $0.removed.isSuperset(of: expected) }
        #expect(changes.removed == expected && changes.changed.isEmpty)
        #expect(h.watcher.watchedDirectories == [src])

        try write(out + "/pkg/m.py", "x = 1\n")   // no longer ours
        try write(src + "/sentinel.py", "")
        #expect(try h.nextBatch().changed == [src + "/sentinel.py"])

        try move(out + "/a.py", src + "/b.py")
        try move(out + "/pkg", src + "/lib")   // moved in: watched and listed like a new directory
        let movedIn: Set = [src + "/b.py", src + "/lib", src + "/lib/__init__.py", src + "/lib/m.py"]
        let back = try h.changes { $0.changed.isSuperset(of: movedIn) }
        #expect(back.changed == movedIn && back.removed.isEmpty)
        #expect(h.watcher.watchedDirectories == [src, src + "/lib"])
    }

    /// A directory renamed inside the tree: the old paths removed, the new ones changed, and
    /// later edits reported under the new name.
    @Test func directoryRenamedWithinTheTree() throws {
        let h = try WatchHarness()
        try makeDirectory(h.path("pkg"))
        try write(h.path("pkg/m.py"), "")
        h.watcher.watch(directories: [], recursive: [h.root])
        try move(h.path("pkg"), h.path("lib"))
        let changes = try h.changes { $0.changed.contains(h.path("lib/m.py")) && $0.removed.contains(h.path("pkg/m.py")) }
        #expect(changes.changed == [h.path("lib"), h.path("lib/m.py")])
        #expect(changes.removed == [h.path("pkg"), h.path("pkg/m.py")])
        try write(h.path("lib/m.py"), "y = 1\n")
        #expect(try h.nextBatch().changed == [h.path("lib/m.py")])
    }

    /// A watched directory whose parent is not watched, moved into a recursive tree: the kernel
    /// hands back the same watch; the old place is reported gone and the new one watched.
    @Test func watchedDirectoryMovedIntoARecursiveTree() throws {
        let h = try WatchHarness()
        let x = h.path("x"), tree = h.path("tree")
        try makeDirectory(x)
        try makeDirectory(tree)
        try write(x + "/a.py", "")
        h.watcher.watch(directories: [x], recursive: [tree])
        try move(x, tree + "/x")
        let changes = try h.changes { $0.changed.contains(tree + "/x/a.py") && $0.removed.contains(x + "/a.py") }
        #expect(changes.changed == [tree + "/x", tree + "/x/a.py"])
        #expect(changes.removed == [x, x + "/a.py"])
        #expect(h.watcher.watchedDirectories == [tree, tree + "/x"])
        try write(tree + "/x/b.py", "")
        #expect(try h.nextBatch().changed == [tree + "/x/b.py"])
        #expect(h.watcher.stats.recrawlsRequested == 0)
    }

    /// A symbolic link to a watched directory, watched as well: one watch, no confusion.
    @Test func symlinkedDirectoryIsWatchedOnce() throws {
        let h = try WatchHarness()
        let real = h.path("real"), link = h.path("link")
        try makeDirectory(real)
        guard symlink(real, link) == 0 else { throw SystemError(call: "symlink", errno: errno) }
        #expect(h.watcher.watch(directories: [real, link]).isEmpty)
        #expect(h.watcher.watchedDirectories == [real] || h.watcher.watchedDirectories == [link])
        try write(real + "/a.py", "")
        #expect(try h.nextBatch().changed.count == 1)
    }

    /// mkdir and files created inside at once, before the watcher has seen the mkdir: the new
    /// directory is watched, then listed, and what the listing finds is reported.
    @Test func newPackageDirectoryIsWatchedAndScanned() throws {
        let h = try WatchHarness()
        h.watcher.watch(directories: [], recursive: [h.root])
        let pkg = h.path("pkg")
        try makeDirectory(pkg)
        try write(pkg + "/__init__.py", "")
        try makeDirectory(pkg + "/sub")
        try write(pkg + "/sub/m.py", "")
        try write(pkg + "/sub/.m.py.swp", "")
        let expected: Set = [pkg, pkg + "/__init__.py", pkg + "/sub", pkg + "/sub/m.py"]
        let changes = try h.changes { $0.changed.isSuperset(of: expected) }
        #expect(changes.changed == expected)
        #expect(h.watcher.watchedDirectories == [h.root, pkg, pkg + "/sub"])
        try write(pkg + "/sub/n.py", "")
        #expect(try h.nextBatch().changed == [pkg + "/sub/n.py"])
    }

    /// A package that appears in a watched (not recursive) source directory, its files a moment
    /// later: it is watched with everything below it from then on, until it is deleted.
    @Test func directoryAppearingInASourceDirectoryIsWatchedUntilItGoes() throws {
        let h = try WatchHarness()
        h.watcher.watch(directories: [h.root])
        let pkg = h.path("pkg")
        try makeDirectory(pkg)
        #expect(try h.nextBatch().changed == [pkg])
        try write(pkg + "/__init__.py", "")
        try makeDirectory(pkg + "/sub")
        try write(pkg + "/sub/m.py", "")
        let expected: Set = [pkg + "/__init__.py", pkg + "/sub", pkg + "/sub/m.py"]
        let changes = try h.changes { $0.changed.isSuperset(of: expected) }
        #expect(changes.changed == expected)
        #expect(h.watcher.watchedDirectories == [h.root, pkg, pkg + "/sub"])
        // The wanted sets, given again, keep it.
        h.watcher.watch(directories: [h.root])
        try write(pkg + "/sub/n.py", "")
        #expect(try h.nextBatch().changed == [pkg + "/sub/n.py"])
        removeTree(pkg)
        let removed = try h.changes { $0.removed.contains(pkg) }
        #expect(removed.removed.isSuperset(of: [pkg, pkg + "/__init__.py", pkg + "/sub/m.py", pkg + "/sub/n.py"]))
        #expect(h.watcher.watchedDirectories == [h.root])
    }

    @Test func deletedDirectory() throws {
        let h = try WatchHarness()
        let pkg = h.path("pkg")
        try makeDirectory(pkg)
        try write(pkg + "/a.py", "")
        try write(pkg + "/b.pyi", "")
        h.watcher.watch(directories: [], recursive: [h.root])
        removeTree(pkg)
        let expected: Set = [pkg, pkg + "/a.py", pkg + "/b.pyi"]
        let changes = try h.changes { $0.removed.isSuperset(of: expected) }
        #expect(changes.removed == expected && changes.changed.isEmpty && !changes.needsRecrawl)
        #expect(h.watcher.watchedDirectories == [h.root])
        #expect(h.watcher.stats.recrawlsRequested == 0)
    }

    /// Swap files, backups, caches and git's object store produce nothing: the first batch after
    /// them holds only the file written last.
    @Test func ignoredFilesProduceNoBatch() throws {
        let h = try WatchHarness()
        try makeDirectory(h.path(".git"))
        try makeDirectory(h.path(".git/objects"))
        try write(h.path(".git/HEAD"), "ref: refs/heads/main\n")
        try makeDirectory(h.path("__pycache__"))
        try makeDirectory(h.path(".mypy_cache"))
        h.watcher.watch(directories: [], recursive: [h.root])
        #expect(h.watcher.watchedDirectories == [h.root, h.path(".git")])

        for name in [".a.py.swp", ".a.py.swx", "a.py~", ".#a.py", "#a.py#", "4913", "a.py.tmp", "notes.md"] {
            try write(h.path(name), "")
        }
        try write(h.path("__pycache__/a.cpython-312.pyc"), "")
        try makeDirectory(h.path(".git/objects/ab"))
        try write(h.path(".git/objects/ab/cdef0123"), "")
        try write(h.path(".git/index"), "")
        try write(h.path(".mypy_cache/x.py"), "")
        try makeDirectory(h.path("__pycache__/deeper"))
        try makeDirectory(h.path(".venv"))
        try write(h.path(".venv/site.py"), "")
        let sentinel = h.path("sentinel.py")
        try write(sentinel, "")
        let batch = try h.nextBatch()
        #expect(batch.changed == [sentinel] && batch.removed.isEmpty && !batch.gitHeadChanged)
        #expect(h.watcher.watchedDirectories == [h.root, h.path(".git")])
    }

    @Test func gitHeadChange() throws {
        let h = try WatchHarness()
        try makeDirectory(h.path(".git"))
        try write(h.path(".git/HEAD"), "ref: refs/heads/main\n")
        h.watcher.watch(directories: [], recursive: [h.root])
        try write(h.path(".git/HEAD.lock"), "ref: refs/heads/feature\n")   // git's way: lock, rename
        try move(h.path(".git/HEAD.lock"), h.path(".git/HEAD"))
        let batch = try h.nextBatch()
        #expect(batch.gitHeadChanged)
        #expect(batch.changed == [h.path(".git/HEAD")])
    }

    /// 500 files written while the loop keeps reading: one batch with all of them.
    @Test func burstArrivesAsOneBatch() throws {
        let h = try WatchHarness(debounce: 0.5, maximumDelay: 30)
        h.watcher.watch(directories: [h.root])
        var expected: Set<String> = []
        for i in 0..<500 {
            let path = h.path("m\(i).py")
            try write(path, "x = \(i)\n")
            expected.insert(path)
            if i % 50 == 49 { try h.loop.runOnce(timeoutMilliseconds: 0) }   // read as it comes
        }
        let batch = try h.nextBatch(timeout: 10)
        #expect(batch.changed.count == 500)
        #expect(batch.changed == expected)
        #expect(batch.eventCount >= 500)
        #expect(h.batches.isEmpty)
    }

    /// A steady stream of writes cannot hold batches back past `maximumDelay`.
    @Test func streamOfWritesDoesNotStarveTheBatch() throws {
        let h = try WatchHarness(debounce: 0.2, maximumDelay: 0.3)
        h.watcher.watch(directories: [h.root])
        let a = h.path("a.py")
        var delivered = 0
        let start = Clock.monotonic()
        var i = 0
        while Clock.monotonic() - start < 1.5 {
            try write(a, "x = \(i)\n")
            i += 1
            try h.loop.runOnce(timeoutMilliseconds: 20)   // writes every ~20 ms: never 0.2 s of quiet
            delivered += h.batches.count
            h.batches.removeAll()
        }
        #expect(delivered >= 2)
    }

    /// The kernel's queue overflow, fed as raw bytes through the same parse-and-handle path the
    /// read uses: a recrawl batch, counted in stats, and the watcher keeps working.
    @Test func queueOverflowAsksForRecrawl() throws {
        let h = try WatchHarness()
        h.watcher.watch(directories: [h.root])
        h.watcher.handle(Inotify.parse(rawEvent(watch: -1, mask: UInt32(IN_Q_OVERFLOW))))
        let batch = try h.nextBatch()
        #expect(batch.needsRecrawl && batch.changed.isEmpty)
        #expect(h.watcher.stats.overflows == 1 && h.watcher.stats.lastOverflow != nil)
        #expect(h.watcher.stats.recrawlsRequested == 1)
        try write(h.path("a.py"), "")
        let next = try h.nextBatch()
        #expect(next.changed == [h.path("a.py")] && !next.needsRecrawl)
    }

    /// A descriptor we never had asks for a recrawl; a late event of one we removed is dropped.
    @Test func unknownAndRetiredWatchDescriptors() throws {
        let h = try WatchHarness()
        let sub = h.path("sub")
        try makeDirectory(sub)
        h.watcher.watch(directories: [h.root, sub])
        let subWatch = try #require(h.watcher.table.watch(for: sub))
        h.watcher.handle(Inotify.parse(rawEvent(watch: 987_654, mask: UInt32(IN_MODIFY), name: "x.py")))
        #expect(try h.nextBatch().needsRecrawl)

        h.watcher.watch(directories: [h.root])
        h.watcher.handle(Inotify.parse(rawEvent(watch: subWatch, mask: UInt32(IN_MODIFY), name: "late.py")))
        #expect(h.watcher.drainNow() == nil)   // also reads the kernel's IN_IGNORED for it
        #expect(h.watcher.table.retired.isEmpty)
        #expect(h.watcher.stats.recrawlsRequested == 1)
    }

    /// drainNow sees a write made just before it, without the loop running; what it took is not
    /// delivered again.
    @Test func drainNowSeesAWriteMadeJustBefore() throws {
        let h = try WatchHarness()
        h.watcher.watch(directories: [h.root])
        let a = h.path("a.py")
        try write(a, "x = 1\n")
        let batch = try #require(h.watcher.drainNow())
        #expect(batch.changed == [a] && batch.eventCount >= 1)
        #expect(h.watcher.drainNow() == nil)
        let sentinel = h.path("sentinel.py")
        try write(sentinel, "")
        #expect(try h.nextBatch().changed == [sentinel])
        #expect(h.watcher.stats.batchesDelivered == 2)
    }

    /// Single files through their parent and a name filter: an atomic save of pyproject.toml is
    /// seen, other files in that directory are not.
    @Test func singleFilesThroughTheirParent() throws {
        let h = try WatchHarness()
        let config = h.path("pyproject.toml")
        try write(config, "[tool.mypy]\n")
        #expect(h.watcher.watch(files: [config]).isEmpty)
        #expect(h.watcher.stats.filesWatched == 1)
        try write(h.path("other.py"), "")
        try write(h.path("setup.cfg"), "")
        try write(h.path("pyproject.toml.tmp"), "[tool.mypy]\nstrict = true\n")
        try move(h.path("pyproject.toml.tmp"), config)
        let batch = try h.nextBatch()
        #expect(batch.changed == [config] && batch.removed.isEmpty)
    }

    @Test func watchIsIdempotentAndRemovesWhatIsNoLongerWanted() throws {
        let h = try WatchHarness()
        let a = h.path("a"), b = h.path("b")
        try makeDirectory(a)
        try makeDirectory(b)
        #expect(h.watcher.watch(directories: [a, b]).isEmpty)
        #expect(h.watcher.watch(directories: [a, b]).isEmpty)
        #expect(h.watcher.stats.directoriesWatched == 2)
        h.watcher.watch(directories: [a])
        #expect(h.watcher.watchedDirectories == [a])
        try write(b + "/x.py", "")
        try write(a + "/y.py", "")
        #expect(try h.nextBatch().changed == [a + "/y.py"])

        let failures = h.watcher.watch(directories: [a, h.path("missing")])
        #expect(failures.map(\.path) == [h.path("missing")])
        #expect(failures.first?.error.errno == ENOENT)
        #expect(failures.first?.description.hasPrefix("Failed to watch '\(h.path("missing"))': ") == true)
    }

    /// Running out of watches: sticky fallback with a reason, every later batch asks for a
    /// recrawl, and no further watch is attempted. (The ENOSPC is handed over as the failure `add`
    /// builds: this process cannot lower its own limit; ResilienceTests runs a daemon that really
    /// runs out, in a user namespace with a limit of one watch.)
    @Test func outOfWatchesIsAStickyFallback() throws {
        let h = try WatchHarness()
        h.watcher.watch(directories: [h.root])
        let failure = WatchFailure(path: h.path("deep"), error: SystemError(call: "inotify_add_watch", errno: ENOSPC))
        #expect(failure.isOutOfWatches)
        h.watcher.enterFallback(failure)
        #expect(h.watcher.state == .fallback(failure))
        #expect(h.watcher.stats.fallbackReason?.contains("fs.inotify.max_user_watches") == true)
        #expect(try h.nextBatch().needsRecrawl)
        try makeDirectory(h.path("new"))
        #expect(h.watcher.watch(directories: [h.root, h.path("new")]) == [failure])
        try write(h.path("a.py"), "")
        let batch = try h.nextBatch()
        #expect(batch.changed == [h.path("new"), h.path("a.py")] && batch.needsRecrawl)
        #expect(h.watcher.state == .fallback(failure))
    }
}
