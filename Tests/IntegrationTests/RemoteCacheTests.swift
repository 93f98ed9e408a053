import DmypyWire
import Foundation
import Glibc
import Testing

/// The remote cache, end to end: CI pushes (`dmypy cache push`) to a real S3-compatible server
/// (SeaweedFS, started here) or a file:// store; a fresh clone one commit ahead starts warm from
/// it with the answer a fresh mypy run gives; and every way it can fail is a cold build with that
/// same answer, a reason in `status -v`, and nothing extra on a pipe.
@Suite(.serialized) struct RemoteCacheTests {
    /// CacheTests' project (errors in several modules, importers, a leaf), without its module
    /// that a test deletes.
    static let project = CacheTests.project.filter { $0.key != "pkg/gone.py" }
    static let flags = ["--strict", "pkg"]

    static let git = "/usr/bin/git"

    /// An origin repository (bare), the CI's clone of it, and a cache root per machine.
    struct Repositories {
        let base: URL
        var origin: URL { base.appendingPathComponent("origin.git") }
        var ci: URL { base.appendingPathComponent("ci") }

        init() throws {
            base = try Harness.project([:])
            try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
            try RemoteCacheTests.run(Self.gitArguments(["init", "-q", "--bare", "-b", "main", origin.path]), in: base)
            let work = try Harness.project(RemoteCacheTests.project)
            try FileManager.default.moveItem(at: work, to: ci)
            try RemoteCacheTests.run(Self.gitArguments(["init", "-q", "-b", "main"]), in: ci)
            try commit(in: ci, "first")
            try RemoteCacheTests.run(Self.gitArguments(["remote", "add", "origin", origin.path]), in: ci)
            try RemoteCacheTests.run(Self.gitArguments(["push", "-q", "origin", "main"]), in: ci)
        }

        static func gitArguments(_ arguments: [String]) -> [String] {
            ["-c", "user.name=CI", "-c", "user.email=ci@example.invalid", "-c", "init.defaultBranch=main"] + arguments
        }

        func commit(in directory: URL, _ message: String) throws {
            try RemoteCacheTests.run(Self.gitArguments(["add", "-A"]), in: directory)
            try RemoteCacheTests.run(Self.gitArguments(["commit", "-q", "-m", message]), in: directory)
        }

        func head(_ directory: URL) throws -> String {
            try RemoteCacheTests.run(["rev-parse", "HEAD"], in: directory).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// A developer's fresh clone (new path, new mtimes), with a cache root of its own.
        func freshClone() throws -> Machine {
            let dir = base.appendingPathComponent("clone-\(UUID().uuidString.prefix(6))")
            try RemoteCacheTests.run(Self.gitArguments(["clone", "-q", origin.path, dir.path]), in: base)
            return Machine(dir: dir, cacheRoot: base.appendingPathComponent("cache-\(UUID().uuidString.prefix(6))"))
        }

        func cleanUp() {
            try? FileManager.default.removeItem(at: base)
        }
    }

    /// One checkout on one machine: its directory and its cache root.
    struct Machine {
        let dir: URL
        let cacheRoot: URL

        func env(_ remote: [String: String]) -> [String: String] {
            ["DMYPY_CACHE": "on", "XDG_CACHE_HOME": cacheRoot.path, "DMYPY_REMOTE_CACHE_TIMEOUT": "20"].merging(remote) { $1 }
        }

        func dmypy(_ arguments: [String], _ remote: [String: String]) throws -> Harness.Result {
            var result = try Harness.dmypy(.ours, arguments, in: dir, env: env(remote))
            if arguments.first == "run", result.stdout.hasPrefix("Daemon started\n") {
                result.stdout.removeFirst("Daemon started\n".count)
            }
            return result
        }

        func status(_ remote: [String: String]) throws -> Harness.Fields { try Harness.verboseStatus(dir, env: env(remote)) }

        func stop(_ remote: [String: String]) {
            _ = try? Harness.dmypy(.ours, ["stop"], in: dir, env: env(remote))
            Harness.cleanUp(dir)
        }
    }

    @discardableResult
    static func run(_ arguments: [String], in directory: URL, env: [String: String] = [:]) throws -> Harness.Result {
        let result = try Harness.run(executable: git, arguments: arguments, in: directory, env: Harness.environment(env), timeout: 60)
        #expect(result.status == 0, "git \(arguments): \(result)")
        return result
    }

    /// The first `run` of a checkout: its answer equals a fresh mypy run's, and nothing is on stderr.
    func expectRightAnswer(_ machine: Machine, _ remote: [String: String], _ step: String,
                           sourceLocation: SourceLocation = #_sourceLocation) throws -> Harness.Fields {
        let answer = try machine.dmypy(["run", "--"] + Self.flags, remote)
        try Harness.expectSameAsFreshMypy(answer, Self.flags, in: machine.dir, step, sourceLocation: sourceLocation)
        #expect(answer.stderr.isEmpty, "\(step): stderr on a pipe: \(answer.stderr)", sourceLocation: sourceLocation)
        return try machine.status(remote)
    }

    /// CI pushes at commit 1; commit 2 edits a module; a fresh clone at commit 2 (a new path, new
    /// mtimes, one commit ahead of the cache) starts warm from commit 1's cache, right.
    @Test(arguments: ["s3", "file"])
    func pushThenPullOnAFreshCloneOneCommitAhead(_ kind: String) async throws {
        try Harness.requireMypy()
        let repositories = try Repositories()
        defer { repositories.cleanUp() }
        let store = try await RemoteStoreUnderTest(kind, in: repositories.base)
        defer { store.stop() }
        let ci = Machine(dir: repositories.ci, cacheRoot: repositories.base.appendingPathComponent("ci-cache"))

        let pushed = try Harness.dmypy(.ours, ["cache", "push", "--"] + Self.flags, in: ci.dir, env: ci.env(store.env))
        #expect(pushed.status == 0, "\(pushed)")
        #expect(pushed.stdout.hasPrefix("Pushed the cache of commit \(try repositories.head(ci.dir).prefix(12))"), "\(pushed)")
        let cachedCommit = try repositories.head(ci.dir)

        try Harness.write(ci.dir, "pkg/leaf.py", "def ok(n: int) -> str:\n    return n\n")
        try repositories.commit(in: ci.dir, "second")
        try Self.run(["push", "-q", "origin", "main"], in: ci.dir)

        let clone = try repositories.freshClone()
        defer { clone.stop(store.env) }
        let fields = try expectRightAnswer(clone, store.env, "first answer on a fresh clone")
        #expect(fields["cache_warm_start"] == "True", "\(fields)")
        #expect(fields["cache_remote_pulled"] == "True", "\(fields)")
        #expect(fields["cache_remote_commit"] == cachedCommit, "\(fields)")
        #expect(fields["cache_remote_reason"]?.contains("(1 commit before the merge-base)") == true, "\(fields)")

        // And the warm daemon keeps answering right after an edit.
        try Harness.write(clone.dir, "pkg/more.py", "from pkg.uses import x\n\nz: int = x\n")
        let checked = try clone.dmypy(["check"] + ["pkg"], store.env)
        try Harness.expectSameAsFreshMypy(checked, Self.flags, in: clone.dir, "check after an edit on the warm clone")

        let status = try Harness.dmypy(.ours, ["cache", "status", "--"] + Self.flags, in: clone.dir, env: clone.env(store.env))
        #expect(status.status == 0, "\(status)")
        #expect(status.stdout.contains("pulled from the remote cache (commit \(cachedCommit.prefix(12)))"), "\(status)")
        #expect(status.stdout.contains("cached at commit \(cachedCommit.prefix(12)) (1 first-parent commit back)"), "\(status)")
        #expect(status.stdout.contains("Daemon: the last start was warm"), "\(status)")
    }

    /// `dmypy cache pull` ahead of time (a post-checkout hook): the next start is warm without
    /// reaching the store at all. The location comes from the project's pyproject.toml.
    @Test func pullAheadOfTime() async throws {
        try Harness.requireMypy()
        let repositories = try Repositories()
        defer { repositories.cleanUp() }
        let store = try await RemoteStoreUnderTest("file", in: repositories.base)
        let location = try #require(store.env["DMYPY_REMOTE_CACHE"])
        try Harness.write(repositories.ci, "pyproject.toml", "[tool.dmypy-swift]\nremote-cache = \"\(location)\"\n")
        try repositories.commit(in: repositories.ci, "the remote cache's location")
        try Self.run(["push", "-q", "origin", "main"], in: repositories.ci)
        let ci = Machine(dir: repositories.ci, cacheRoot: repositories.base.appendingPathComponent("ci-cache"))
        #expect(try Harness.dmypy(.ours, ["cache", "push", "--"] + Self.flags, in: ci.dir, env: ci.env([:])).status == 0)

        let clone = try repositories.freshClone()
        defer { clone.stop([:]) }
        let pulled = try Harness.dmypy(.ours, ["cache", "pull", "--"] + Self.flags, in: clone.dir, env: clone.env([:]))
        #expect(pulled.status == 0 && pulled.stdout.hasPrefix("Pulled the remote cache of commit"), "\(pulled)")
        let again = try Harness.dmypy(.ours, ["cache", "pull", "--"] + Self.flags, in: clone.dir, env: clone.env([:]))
        #expect(again.stdout.hasPrefix("A local cache is in place already"), "\(again)")
        store.stop()   // the start below must not need the store
        let fields = try expectRightAnswer(clone, ["DMYPY_REMOTE_CACHE": "off"], "first answer after a pull")
        #expect(fields["cache_warm_start"] == "True", "\(fields)")
    }
}

extension RemoteCacheTests {
    /// Each way a remote cache can fail, set up on a pushed store, with what the reason says.
    enum Failure: String, CaseIterable, CustomTestStringConvertible {
        case wrongCredentials, missingBucket, storeDown, nothingPushed, truncatedArchive, tamperedArchive,
             memberOutsideTheSlot, unpacksTooLarge, otherOptions, otherMypyVersion, notAGitRepository

        var testDescription: String { rawValue }
        var needsServer: Bool { [.wrongCredentials, .missingBucket, .storeDown].contains(self) }
    }

    /// A cold build with a fresh mypy run's answer, nothing on stderr, and the reason in `status -v`.
    @Test(arguments: Failure.allCases)
    func everyFailureIsAColdBuildWithTheRightAnswer(_ failure: Failure) async throws {
        try Harness.requireMypy()
        let repositories = try Repositories()
        defer { repositories.cleanUp() }
        let store = try await RemoteStoreUnderTest(failure.needsServer ? "s3" : "file", in: repositories.base)
        defer { store.stop() }
        let ci = Machine(dir: repositories.ci, cacheRoot: repositories.base.appendingPathComponent("ci-cache"))
        if failure != .nothingPushed {
            let pushFlags = failure == .otherOptions ? ["pkg"] : Self.flags
            let pushed = try Harness.dmypy(.ours, ["cache", "push", "--"] + pushFlags, in: ci.dir, env: ci.env(store.env))
            #expect(pushed.status == 0, "\(pushed)")
        }
        var env = store.env
        var clone = try repositories.freshClone()
        let expected: String
        switch failure {
        case .wrongCredentials:
            env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
            expected = "credential"
        case .missingBucket:
            env["DMYPY_REMOTE_CACHE"] = "s3://no-such-bucket/team/cache"
            expected = "no-such-bucket"
        case .storeDown:
            store.stop()
            expected = "reach"
        case .nothingPushed, .otherOptions:
            expected = "no cache for these options and versions at commit"
        case .truncatedArchive:
            let archive = try store.onlyFile(suffix: ".tar.gz")
            let bytes = try Data(contentsOf: archive)
            try bytes.prefix(bytes.count / 2).write(to: archive)
            expected = "truncated"
        case .tamperedArchive:
            let archive = try store.onlyFile(suffix: ".tar.gz")
            var bytes = try Data(contentsOf: archive)
            bytes[bytes.count / 2] ^= 0xff
            try bytes.write(to: archive)
            expected = "checksum"
        case .memberOutsideTheSlot:
            // A store that is not ours to trust: an archive with `../escape`, and a manifest
            // that agrees with it (the checksum and size are right).
            let archive = try store.onlyFile(suffix: ".tar.gz")
            let manifest = try store.onlyFile(suffix: "manifest.json")
            let script = """
                import hashlib, io, json, os, sys, tarfile
                archive, manifest = sys.argv[1], sys.argv[2]
                with tarfile.open(archive, "w:gz") as tar:
                    data = b"escaped"
                    info = tarfile.TarInfo("cache/../../escape"); info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                m = json.load(open(manifest))
                m["sha256"] = hashlib.sha256(open(archive, "rb").read()).hexdigest(); m["bytes"] = os.path.getsize(archive)
                json.dump(m, open(manifest, "w"))
                """
            let done = try Harness.run(executable: Harness.python, arguments: ["-c", script, archive.path, manifest.path],
                                       in: repositories.base, env: Harness.environment(), timeout: 60)
            #expect(done.status == 0, "\(done)")
            expected = "outside the slot"
        case .unpacksTooLarge:
            env["DMYPY_CACHE_MAX_MB"] = "1"   // the cache unpacks to a few MiB: over the user's budget
            expected = "unpacks to more than 1 MiB"
        case .otherMypyVersion:
            let manifest = try store.onlyFile(suffix: "manifest.json")
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: manifest)) as! [String: Any]
            json["mypy_version"] = "0.991"
            json["portable_key"] = "0123456789abcdef01234567"
            try JSONSerialization.data(withJSONObject: json).write(to: manifest)
            expected = "other options or another mypy"
        case .notAGitRepository:
            try FileManager.default.removeItem(at: clone.dir.appendingPathComponent(".git"))
            clone = Machine(dir: clone.dir, cacheRoot: clone.cacheRoot)
            expected = "not in a git repository"
        }
        defer { clone.stop(env) }
        let fields = try expectRightAnswer(clone, env, "first answer with \(failure)")
        #expect(fields["cache_warm_start"] == "False", "\(fields)")
        #expect(fields["cache_remote_pulled"] == "False", "\(fields)")
        let reason = fields["cache_remote_reason"] ?? ""
        #expect(reason.lowercased().contains(expected.lowercased()), "\(failure): \(reason)")
        for secret in [env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]].compactMap({ $0 }) where !secret.isEmpty {
            #expect(!reason.contains(secret), "a secret in the reason")
        }
        let escaped = FileManager.default.enumerator(atPath: repositories.base.path)?.compactMap { $0 as? String }
            .filter { $0 == "escape" || $0.hasSuffix("/escape") } ?? []
        #expect(escaped.isEmpty, "a member was written outside the slot: \(escaped)")
    }

    /// A detached HEAD (a CI checkout, a bisect) still looks up from its own commit.
    @Test func detachedHeadStartsWarm() async throws {
        try Harness.requireMypy()
        let repositories = try Repositories()
        defer { repositories.cleanUp() }
        let store = try await RemoteStoreUnderTest("file", in: repositories.base)
        let ci = Machine(dir: repositories.ci, cacheRoot: repositories.base.appendingPathComponent("ci-cache"))
        #expect(try Harness.dmypy(.ours, ["cache", "push", "--"] + Self.flags, in: ci.dir, env: ci.env(store.env)).status == 0)
        let clone = try repositories.freshClone()
        defer { clone.stop(store.env) }
        try Self.run(["checkout", "-q", "--detach", "HEAD"], in: clone.dir)
        let fields = try expectRightAnswer(clone, store.env, "first answer on a detached HEAD")
        #expect(fields["cache_warm_start"] == "True", "\(fields)")
    }

    /// A push and a pull at once: the pull sees either no cache (cold) or the whole of it (warm),
    /// never half of one; both answers are right.
    @Test func concurrentPushAndPull() async throws {
        try Harness.requireMypy()
        let repositories = try Repositories()
        defer { repositories.cleanUp() }
        let store = try await RemoteStoreUnderTest("s3", in: repositories.base)
        defer { store.stop() }
        let ci = Machine(dir: repositories.ci, cacheRoot: repositories.base.appendingPathComponent("ci-cache"))
        let pushing = try Harness.spawnDmypy(.ours, ["cache", "push", "--"] + Self.flags, in: ci.dir, env: ci.env(store.env))
        var clones = 0
        repeat {
            let clone = try repositories.freshClone()
            _ = try expectRightAnswer(clone, store.env, "a start while a push runs")
            clones += 1
            clone.stop(store.env)
        } while !pushing.hasEnded && clones < 5
        let pushed = try Harness.collect(pushing, timeout: 300)
        #expect(pushed.status == 0, "\(pushed)")
        let after = try repositories.freshClone()
        defer { after.stop(store.env) }
        let fields = try expectRightAnswer(after, store.env, "a start after the push")
        #expect(fields["cache_warm_start"] == "True", "\(fields)")
    }
}

/// The store a test pushes to: SeaweedFS over S3 (started here), or a directory (file://).
struct RemoteStoreUnderTest {
    let env: [String: String]
    let server: SeaweedFS?

    init(_ kind: String, in base: URL) async throws {
        if kind == "s3" {
            let server = try await SeaweedFS.start()
            self.server = server
            directory = nil
            env = server.environment.merging(["DMYPY_REMOTE_CACHE": "s3://\(server.bucket)/team/cache"]) { $1 }
        } else {
            server = nil
            let directory = base.appendingPathComponent("shared-store")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            self.directory = directory
            env = ["DMYPY_REMOTE_CACHE": "file://\(directory.path)"]
        }
    }

    let directory: URL?

    func stop() {
        server?.stop()
    }

    /// The one file of a file:// store whose name ends with `suffix`.
    func onlyFile(suffix: String) throws -> URL {
        let directory = try #require(directory)
        let found = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(suffix) } ?? []
        #expect(found.count == 1, "\(found)")
        return directory.appendingPathComponent(try #require(found.first))
    }
}
