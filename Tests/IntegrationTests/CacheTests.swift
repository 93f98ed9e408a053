import DmypyWire
import Foundation
import Glibc
import Testing

/// The daemon keeps a fine-grained cache slot of its own and loads it at every engine start: the
/// first answer after a warm start equals a fresh mypy run, whatever changed while it was down,
/// and a slot that cannot be trusted is discarded for a cold build with the right answer.
@Suite(.serialized) struct CacheTests {
    /// A project whose errors live in several modules, with importers and a leaf.
    static let project: [String: String] = [
        "pkg/__init__.py": "",
        "pkg/core.py": "def value() -> int:\n    return 1\n\n\ndef name() -> str:\n    return 'x'\n",
        "pkg/uses.py": "from pkg.core import value, name\n\nx: int = value()\ny: int = name()\n",
        "pkg/more.py": "from pkg.uses import x\n\nz: str = x\n",
        "pkg/leaf.py": "def ok(n: int) -> int:\n    return n\n",
        "pkg/gone.py": "import pkg.core\n\nw: bytes = pkg.core.value()\n",
    ]
    static let flags = ["--strict", "pkg"]

    /// A project and a cache root of its own, with the cache on.
    struct Setup {
        let dir: URL
        let cacheRoot: URL
        var env: [String: String] {
            ["DMYPY_CACHE": "on", "XDG_CACHE_HOME": cacheRoot.path, "DMYPY_CACHE_IDLE_SECONDS": "1"]
        }

        init(_ files: [String: String] = CacheTests.project) throws {
            dir = try Harness.project(files)
            cacheRoot = try Harness.project([:])
            try FileManager.default.createDirectory(at: cacheRoot, withIntermediateDirectories: true)
        }

        /// Runs our dmypy; the "Daemon started" line a `run` prints when it starts one is dropped,
        /// so the result compares with a plain mypy run.
        func dmypy(_ arguments: [String], extra: [String: String] = [:]) throws -> Harness.Result {
            var result = try Harness.dmypy(.ours, arguments, in: dir, env: env.merging(extra) { $1 })
            if arguments.first == "run", result.stdout.hasPrefix("Daemon started\n") {
                result.stdout.removeFirst("Daemon started\n".count)
            }
            return result
        }

        func status() throws -> Harness.Fields { try Harness.verboseStatus(dir, env: env) }

        /// Waits until the slot has been written `writes` times and no writer runs.
        func waitForCacheWrite(_ writes: Int = 1, sourceLocation: SourceLocation = #_sourceLocation) throws {
            var fields = try status()
            let written = try Harness.eventually(within: 120, every: 0.1) {
                fields = try status()
                return fields.int("cache_writes") >= writes && fields["cache_writer_pid"] == "None"
            }
            #expect(written, "the cache was not written: \(fields)", sourceLocation: sourceLocation)
        }

        /// The current generation's directory of the one slot under the cache root
        /// (`<root>/dmypy-swift/<project>/<key>/current`).
        func generation() throws -> URL {
            let base = cacheRoot.appendingPathComponent("dmypy-swift")
            let fm = FileManager.default
            for project in try fm.contentsOfDirectory(atPath: base.path) {
                let projectURL = base.appendingPathComponent(project)
                for key in (try? fm.contentsOfDirectory(atPath: projectURL.path)) ?? [] {
                    let current = projectURL.appendingPathComponent(key).appendingPathComponent("current")
                    if (try? fm.destinationOfSymbolicLink(atPath: current.path)) != nil { return current.resolvingSymlinksInPath() }
                }
            }
            throw Harness.HarnessError.noStatusFile
        }

        func cleanUp() {
            Harness.cleanUp(dir)
            try? FileManager.default.removeItem(at: cacheRoot)
        }
    }

    /// A run, the slot written in the background, then the daemon stopped.
    func warmedUp(_ setup: Setup) throws {
        let cold = try setup.dmypy(["run", "--"] + Self.flags)
        #expect(cold.status == 1, "\(cold)")
        try setup.waitForCacheWrite()
        #expect(try setup.status()["cache_warm_start"] == "False")
        #expect(try setup.dmypy(["stop"]).status == 0)
    }

    func expectWarm(_ setup: Setup, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fields = try setup.status()
        #expect(fields["cache_warm_start"] == "True", "\(fields)", sourceLocation: sourceLocation)
    }

    /// Edits of every kind while the daemon is down, the last of them a same-size edit whose
    /// mtime is put back (mypy's loader trusts size and mtime): the first warm answer is right.
    @Test func warmStartAfterEditsWhileDown() throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        try warmedUp(setup)

        try Harness.write(setup.dir, "pkg/leaf.py", "def ok(n: int) -> str:\n    return n\n")           // a new error
        try Harness.write(setup.dir, "pkg/more.py", "from pkg.uses import x\n\nz: int = x\n")            // an error fixed
        try Harness.write(setup.dir, "pkg/core.py", "def value() -> str:\n    return 'v'\n\n\ndef name() -> str:\n    return 'x'\n")  // a signature, with dependents
        try FileManager.default.removeItem(at: setup.dir.appendingPathComponent("pkg/gone.py"))        // a deleted module
        try Harness.write(setup.dir, "pkg/new.py", "from pkg.core import name\n\nq: bytes = name()\n")   // a new module
        try Harness.writeSameSizeKeepingMtime(setup.dir, "pkg/uses.py", "from pkg.core import value, name\n\nx: int = value()\ny: str = name()\n")

        let warm = try setup.dmypy(["run", "--"] + Self.flags)
        try Harness.expectSameAsFreshMypy(warm, Self.flags, in: setup.dir, "first answer after a warm start")
        try expectWarm(setup)
        #expect(try setup.dmypy(["stop"]).status == 0)
    }

    /// A same-size edit with its mtime put back, made while the daemon is up: the daemon sees it,
    /// and the slot's refresh, an incremental mypy build, trusts the old cache meta of that file
    /// (same size and second). The slot must then say that it holds the old content, so that the
    /// next start checks the file instead of answering the old content's errors.
    @Test func aSameSizeEditTheRefreshTrustedIsCheckedAtTheNextStart() throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        try warmedUp(setup)
        #expect(try setup.dmypy(["run", "--"] + Self.flags).status == 1)
        try expectWarm(setup)

        try Harness.writeSameSizeKeepingMtime(setup.dir, "pkg/leaf.py", "def ok(n: int) -> str:\n    return n\n")   // a new error
        try Harness.expectSameAsFreshMypy(try setup.dmypy(["check", "pkg"]), Self.flags, in: setup.dir, "the edit, while up")
        try setup.waitForCacheWrite()   // the refresh after the edit
        #expect(try setup.dmypy(["stop"]).status == 0)

        let warm = try setup.dmypy(["run", "--"] + Self.flags)
        try Harness.expectSameAsFreshMypy(warm, Self.flags, in: setup.dir, "first answer after the refreshed slot loaded")
        try expectWarm(setup)
        #expect(try setup.dmypy(["stop"]).status == 0)
    }

    /// A project whose only messages are notes: mypy's first answer is a success (status 0), and
    /// so is the warm start's answer from the cache.
    @Test func notesAloneFromTheCacheAreASuccess() throws {
        try Harness.requireMypy()
        let setup = try Setup(["pkg/__init__.py": "", "pkg/a.py": "x = 1\nreveal_type(x)\n"])
        defer { setup.cleanUp() }
        let cold = try setup.dmypy(["run", "--"] + Self.flags)
        try Harness.expectSameAsFreshMypy(cold, Self.flags, in: setup.dir, "cold")
        #expect(cold.status == 0 && cold.stdout.contains("note: Revealed type"), "\(cold)")
        try setup.waitForCacheWrite()
        #expect(try setup.dmypy(["stop"]).status == 0)
        let warm = try setup.dmypy(["run", "--"] + Self.flags)
        try Harness.expectSameAsFreshMypy(warm, Self.flags, in: setup.dir, "warm")
        #expect(warm.status == 0 && warm.stdout.contains("note: Revealed type"), "\(warm)")
        try expectWarm(setup)
        #expect(try setup.status()["cache_reason"] == "nothing changed since it was written")
        #expect(try setup.dmypy(["stop"]).status == 0)
    }

    /// An edit made while the daemon was down that most of the project depends on makes the
    /// start cold (mypy's update of a loaded build would re-check those modules one by one, which
    /// costs more than a cold build); the slot is written again after it, and an edit of one
    /// module the next time still starts warm. Both answers are a fresh mypy run's.
    @Test func aStartAfterMostOfTheBuildChangedIsCold() throws {
        try Harness.requireMypy()
        var files = ["pkg/__init__.py": "", "pkg/core.py": "def value() -> int:\n    return 1\n"]
        for i in 0..<120 {
            files["pkg/m\(i).py"] = "from pkg.core import value\n\nx\(i): int = value()\n" + (i == 7 ? "bad: str = 1\n" : "")
        }
        let setup = try Setup(files)
        defer { setup.cleanUp() }
        try warmedUp(setup)

        try Harness.write(setup.dir, "pkg/core.py", "def value() -> str:\n    return '1'\n")   // all 120 depend on it
        let cold = try setup.dmypy(["run", "--"] + Self.flags)
        try Harness.expectSameAsFreshMypy(cold, Self.flags, in: setup.dir, "after an edit most of the build depends on")
        var fields = try setup.status()
        #expect(fields["cache_warm_start"] == "False", "\(fields)")
        let reason = fields["cache_reason"] ?? ""
        #expect(reason.hasPrefix("most of the build changed while the daemon was down (") && reason.contains(" of 122 modules depend on an edit"), "\(fields)")
        try setup.waitForCacheWrite()
        #expect(try setup.dmypy(["stop"]).status == 0)

        try Harness.write(setup.dir, "pkg/m3.py", "from pkg.core import value\n\nx3: int = 3\n")    // one module, nothing imports it
        let warm = try setup.dmypy(["run", "--"] + Self.flags)
        try Harness.expectSameAsFreshMypy(warm, Self.flags, in: setup.dir, "after an edit of one module")
        fields = try setup.status()
        #expect(fields["cache_warm_start"] == "True", "\(fields)")
        #expect(try setup.dmypy(["stop"]).status == 0)
    }

    /// Errors that live only in the cache are reported (python/mypy#20519), and still are after
    /// the next edit (the modules whose errors came from the cache are then checked for real).
    @Test(arguments: ["stop then start", "restart", "kill then start", "engine killed"])
    func warmStartReportsCachedErrors(_ how: String) throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        if how == "engine killed" {
            #expect(try setup.dmypy(["run", "--"] + Self.flags).status == 1)
            try setup.waitForCacheWrite()
            let engine = try #require(pid_t(try setup.status()["engine_pid"] ?? ""))
            kill(engine, SIGKILL)
            #expect(Harness.eventually { (try? setup.status())?.int("engine_starts") == 2 })
        } else {
            try warmedUp(setup)
            switch how {
            case "restart":
                #expect(try setup.dmypy(["start", "--", "--strict"]).status == 0)
                #expect(try setup.dmypy(["restart", "--", "--strict"]).status == 0)
            case "kill then start":
                #expect(try setup.dmypy(["start", "--", "--strict"]).status == 0)
                let daemon = try Harness.statusFilePID(setup.dir)
                _ = try setup.dmypy(["kill"])
                #expect(Harness.eventually { kill(daemon, 0) != 0 })
                #expect(try setup.dmypy(["start", "--", "--strict"]).status == 0)
            default:
                #expect(try setup.dmypy(["start", "--", "--strict"]).status == 0)
            }
        }
        let command = how == "engine killed" ? ["run", "--"] + Self.flags : ["check", "pkg"]
        let warm = try setup.dmypy(command)
        try Harness.expectSameAsFreshMypy(warm, Self.flags, in: setup.dir, "\(how): first answer")
        try expectWarm(setup)
        try Harness.write(setup.dir, "pkg/leaf.py", "def ok(n: int) -> int:\n    return n + 1\n")
        try Harness.expectSameAsFreshMypy(try setup.dmypy(command), Self.flags, in: setup.dir, "\(how): after an edit")
        _ = try setup.dmypy(["stop"])
    }

    /// mypy's documented remote-cache workflow: a batch `mypy --cache-fine-grained`, then the
    /// daemon with `--use-fine-grained-cache`. mypy's own daemon reports no error then; ours
    /// reports what a fresh run does.
    @Test func usersOwnFineGrainedCacheReportsItsErrors() throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        let batch = try Harness.run(executable: Harness.python, arguments: ["-m", "mypy", "--cache-fine-grained", "--local-partial-types"] + Self.flags,
                                    in: setup.dir, env: Harness.environment(), timeout: 300)
        #expect(batch.status == 1, "\(batch)")
        let flags = ["--use-fine-grained-cache", "--local-partial-types"] + Self.flags
        let ours = try setup.dmypy(["run", "--"] + flags)
        try Harness.expectSameAsFreshMypy(ours, Self.flags, in: setup.dir, "--use-fine-grained-cache")
        _ = try setup.dmypy(["stop"])
        let theirs = try Harness.dmypy(.mypy, ["run", "--"] + flags, in: setup.dir)
        _ = try Harness.dmypy(.mypy, ["stop"], in: setup.dir)
        #expect(theirs.stdout.contains("Success: no issues found"), "mypy's daemon was expected to miss the cached errors (python/mypy#20519): \(theirs)")
    }

    /// A slot that cannot be trusted is logged, discarded and built cold; the answer is right and
    /// `status -v` says why.
    @Test(arguments: ["corrupt", "other mypy version", "no dependency edges", "hangs"])
    func untrustworthySlotFallsBackCold(_ damage: String) throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        try warmedUp(setup)
        let generation = try setup.generation()
        let manifestURL = generation.appendingPathComponent("manifest.json")
        var manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        let files = try #require(manifest["files"] as? [String: String])
        let victim = generation.appendingPathComponent("cache").appendingPathComponent(try #require(files.keys.sorted().last))
        var extra: [String: String] = [:]
        switch damage {
        case "corrupt":
            let handle = try FileHandle(forWritingTo: victim)
            try handle.truncate(atOffset: 100)
            try handle.close()
        case "other mypy version":
            manifest["mypy_version"] = "1.0.0"
        case "no dependency edges":
            manifest["dependency_edges"] = 0
        default:
            // Reading it blocks forever: a load that hangs (python/mypy#10735, #17831).
            try FileManager.default.removeItem(at: victim)
            #expect(mkfifo(victim.path, 0o600) == 0)
            extra["DMYPY_CACHE_LOAD_TIMEOUT"] = "3"
        }
        if damage == "other mypy version" || damage == "no dependency edges" {
            try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        }
        #expect(try setup.dmypy(["start", "--", "--strict"], extra: extra).status == 0)
        let answer = try setup.dmypy(["check", "pkg"])
        try Harness.expectSameAsFreshMypy(answer, Self.flags, in: setup.dir, "\(damage): cold answer")
        let fields = try setup.status()
        #expect(fields["cache_warm_start"] == "False", "\(damage): \(fields)")
        let reason = fields["cache_reason"] ?? ""
        let expected = ["corrupt": "checksums", "other mypy version": "mypy 1.0.0", "no dependency edges": "dependency edges", "hangs": "hung"][damage]!
        #expect(reason.contains(expected), "\(damage): \(fields)")
        // Written again from the cold build, and loaded by the next start.
        try setup.waitForCacheWrite()
        #expect(try setup.dmypy(["stop"]).status == 0)
        #expect(try setup.dmypy(["start", "--", "--strict"]).status == 0)
        try Harness.expectSameAsFreshMypy(try setup.dmypy(["check", "pkg"]), Self.flags, in: setup.dir, "\(damage): warm again")
        try expectWarm(setup)
        _ = try setup.dmypy(["stop"])
    }

    /// An editor's unsaved buffer (our overlay) stands in for a file that has not changed on disk:
    /// a warm start must not answer from the cache's errors for it.
    @Test func aBufferOverlayIsNotAnsweredFromTheCache() throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        try warmedUp(setup)
        #expect(try setup.dmypy(["start", "--", "--strict"]).status == 0)
        let buffer = "def ok(n: int) -> int:\n    return 'not on disk'\n"
        let leaf = setup.dir.appendingPathComponent("pkg/leaf.py").resolvingSymlinksInPath().path
        let request: JSONObject = ["command": .string(ProtocolExtensions.overlayCommand), "path": .string(leaf), "text": .string(buffer)]
        let fd = Harness.connectRaw(try Harness.statusConnectionName(setup.dir))
        try #require(fd >= 0)
        defer { close(fd) }
        let bytes = Frame.encode(request)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var reply = [UInt8](repeating: 0, count: 4096)
        #expect(recv(fd, &reply, reply.count, 0) > 0, "the overlay was not answered")

        let ours = try setup.dmypy(["check", "pkg"])
        let shadow = setup.cacheRoot.appendingPathComponent("leaf-buffer.py")
        try buffer.write(to: shadow, atomically: true, encoding: .utf8)
        let fresh = try Harness.freshMypy(Self.flags + ["--shadow-file", "pkg/leaf.py", shadow.path], in: setup.dir)
        #expect(ours.status == fresh.status && Harness.lines(ours) == Harness.lines(fresh), "ours:\n\(ours)\nfresh mypy with the buffer:\n\(fresh)")
        #expect(fresh.stdout.contains("not on disk") || fresh.stdout.contains("pkg/leaf.py:2"), "\(fresh)")
        _ = try setup.dmypy(["stop"])
    }

    /// Two daemons never write one slot at once: a writer that finds the slot's lock taken writes
    /// nothing and says so; the next write after an edit, once the lock is free, succeeds.
    @Test func aLockedSlotIsNotWrittenTwice() throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        #expect(try setup.dmypy(["start", "--", "--strict"]).status == 0)
        let slot = try #require(try setup.status()["cache_slot"].flatMap { $0 == "None" ? nil : $0 })
        try FileManager.default.createDirectory(atPath: slot, withIntermediateDirectories: true)
        // Another writer holds the lock (flock, as ours takes it) until told to let go.
        let release = setup.cacheRoot.appendingPathComponent("release").path
        let holder = try Harness.spawn(executable: Harness.python, arguments: ["-c", """
            import fcntl, os, time
            f = open(os.path.join(\(String(reflecting: slot)), "lock"), "w")
            fcntl.flock(f, fcntl.LOCK_EX)
            open(\(String(reflecting: release + ".held")), "w").close()
            while not os.path.exists(\(String(reflecting: release))):
                time.sleep(0.05)
            """], in: setup.dir, env: Harness.environment())
        defer { kill(holder.pid, SIGKILL); _ = try? Harness.collect(holder, timeout: 10) }
        #expect(Harness.eventually { FileManager.default.fileExists(atPath: release + ".held") })
        #expect(try setup.dmypy(["check", "pkg"]).status == 1)
        var fields = try setup.status()
        #expect(Harness.eventually(every: 0.1) {
            fields = (try? setup.status()) ?? fields
            return fields["cache_last_write"]?.contains("another daemon is writing") == true
        }, "\(fields)")
        #expect(fields.int("cache_writes") == 0)
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        _ = try Harness.collect(holder, timeout: 30)
        try Harness.write(setup.dir, "pkg/leaf.py", "def ok(n: int) -> int:\n    return n * 2\n")
        #expect(try setup.dmypy(["check", "pkg"]).status == 1)
        try setup.waitForCacheWrite()
        _ = try setup.dmypy(["stop"])
    }

    @Test func offWritesNothing() throws {
        try Harness.requireMypy()
        let setup = try Setup()
        defer { setup.cleanUp() }
        #expect(try setup.dmypy(["run", "--"] + Self.flags, extra: ["DMYPY_CACHE": "off"]).status == 1)
        let fields = try setup.status()
        #expect(fields["cache"] == "off (DMYPY_CACHE=off)", "\(fields)")
        _ = try setup.dmypy(["stop"])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: setup.cacheRoot.path)) ?? []).isEmpty)
    }
}
