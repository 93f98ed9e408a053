import DmypyObjectStore
import Foundation
import Glibc
import Testing

/// The object stores against real servers: SeaweedFS's S3 on loopback (`SeaweedFS.swift`), a
/// closed port, a port that accepts and never answers, and a real directory. Nothing is mocked.
@Suite(.serialized) struct ObjectStoreTests {
    /// Runs `body` with a fresh server, stopped (and its directory removed) afterwards.
    func withServer(_ body: (SeaweedFS) async throws -> Void) async throws {
        let server = try await SeaweedFS.start()
        defer { server.stop() }
        try await body(server)
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "dmypy-objectstore-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    static func error(_ body: () async throws -> Void) async -> ObjectStoreError? {
        do {
            try await body()
            return nil
        } catch let error as ObjectStoreError {
            return error
        } catch {
            Issue.record("not an ObjectStoreError: \(error)")
            return nil
        }
    }

    var soon: ContinuousClock.Instant { .now + .seconds(30) }

    @Test func roundTripSmallLargeAndUnicodeKeys() async throws {
        try await withServer { server in
            let store = try server.store(prefix: "team/mypy")
            let local = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: local) }

            let manifest = Array("{\"commit\": \"abc\"}".utf8)
            try await store.put(manifest, as: "manifests/abc.json", contentType: "application/json")
            #expect(try await store.get("manifests/abc.json", maxBytes: 1 << 20, deadline: soon) == manifest)
            #expect(try await store.exists("manifests/abc.json", deadline: soon))

            // A multi-MB archive, uploaded from a file and downloaded to one, under a key with
            // spaces, unicode and characters SigV4 must encode.
            let archive = Self.randomBytes(5 << 20 + 123)
            try Data(archive).write(to: URL(fileURLWithPath: local + "/source.tar.zst"))
            let key = "archives/a dir with spaces/ünïcødé ✓ +$&=.tar.zst"
            try await store.upload(file: local + "/source.tar.zst", as: key, contentType: "application/zstd")
            #expect(try await store.exists(key, deadline: soon))
            let count: Int
            do {
                count = try await store.download(key, to: local + "/copy.tar.zst", deadline: .now + .seconds(60))
            } catch {
                await store.shutdown()   // an HTTP client must be shut down before it goes, even on failure
                throw error
            }
            #expect(count == archive.count)
            #expect(try Data(contentsOf: URL(fileURLWithPath: local + "/copy.tar.zst")) == Data(archive))
            #expect(try FileManager.default.contentsOfDirectory(atPath: local).sorted() == ["copy.tar.zst", "source.tar.zst"])

            // The prefix is part of the key: another prefix does not see the object.
            let other = try server.store(prefix: "team/other")
            #expect(try await !other.exists("manifests/abc.json", deadline: soon))
            await other.shutdown()
            await store.shutdown()
        }
    }

    @Test func missingKey() async throws {
        try await withServer { server in
            let store = try server.store()
            let local = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: local) }
            #expect(try await !store.exists("nothing/here", deadline: soon))
            #expect(await Self.error { _ = try await store.get("nothing/here", maxBytes: 100, deadline: soon) } == .notFound("nothing/here"))
            #expect(await Self.error { _ = try await store.download("nothing/here", to: local + "/x", deadline: soon) }
                == .notFound("nothing/here"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: local).isEmpty)
            await store.shutdown()
        }
    }

    @Test func wrongCredentialsAreRejected() async throws {
        try await withServer { server in
            let good = try server.store()
            try await good.put([1, 2, 3], as: "k", contentType: "application/octet-stream")
            await good.shutdown()

            let wrongSecret = try server.store(environment: ["AWS_SECRET_ACCESS_KEY": "not-the-secret"])
            let secretError = await Self.error { _ = try await wrongSecret.get("k", maxBytes: 100, deadline: soon) }
            #expect(secretError == .invalidCredentials)
            #expect(await Self.error { try await wrongSecret.put([1], as: "k2", contentType: "text/plain") } == .invalidCredentials)
            // HEAD has no body to name the cause: a 403 is all there is.
            let headError = await Self.error { _ = try await wrongSecret.exists("k", deadline: soon) }
            #expect(headError == .accessDenied || headError == .invalidCredentials)
            await wrongSecret.shutdown()

            let wrongKey = try server.store(environment: ["AWS_ACCESS_KEY_ID": "AKIDNOBODY"])
            #expect(await Self.error { _ = try await wrongKey.get("k", maxBytes: 100, deadline: soon) } == .invalidCredentials)
            await wrongKey.shutdown()

            for error in [secretError, headError].compactMap({ $0 }) {
                #expect(!error.description.contains(server.secretKey))
                #expect(!error.description.contains("not-the-secret"))
            }
        }
    }

    /// With a session token the request carries it, signed: this server knows no STS session by
    /// that token and so rejects the same keys that pass without it.
    @Test func sessionTokenIsSent() async throws {
        try await withServer { server in
            let plain = try server.store()
            try await plain.put([7], as: "t", contentType: "application/octet-stream")
            await plain.shutdown()
            let withToken = try server.store(environment: ["AWS_SESSION_TOKEN": "not-an-sts-session"])
            let error = await Self.error { _ = try await withToken.get("t", maxBytes: 10, deadline: soon) }
            #expect(error == .invalidCredentials)
            #expect(error.map { !$0.description.contains("not-an-sts-session") } ?? true)
            await withToken.shutdown()
        }
    }

    @Test func missingBucket() async throws {
        try await withServer { server in
            let store = try server.store(bucket: "no-such-bucket")
            #expect(await Self.error { _ = try await store.get("k", maxBytes: 100, deadline: soon) } == .noSuchBucket("no-such-bucket"))
            await store.shutdown()
        }
    }

    @Test func sizeCapsLeaveNoFileBehind() async throws {
        try await withServer { server in
            let store = try server.store(limits: ObjectStoreLimits(maxObjectBytes: 1000))
            let local = try Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: local) }
            try await store.put(Self.randomBytes(4000), as: "big", contentType: "application/octet-stream")
            #expect(await Self.error { _ = try await store.download("big", to: local + "/big", deadline: soon) } == .tooLarge(limit: 1000))
            #expect(try FileManager.default.contentsOfDirectory(atPath: local).isEmpty)
            #expect(await Self.error { _ = try await store.get("big", maxBytes: 100, deadline: soon) } == .tooLarge(limit: 100))
            #expect(try await store.get("big", maxBytes: 4000, deadline: soon).count == 4000)
            await store.shutdown()
        }
    }

    /// A closed port: every attempt is refused at once, so the error comes back (after the
    /// retries' backoff) long before the deadline.
    @Test func storeDownIsUnreachableWithinTheDeadline() async throws {
        let port = try SeaweedFS.freePorts(1)[0]
        let store = try ObjectStores.open(.s3(bucket: "cache", prefix: ""), environment: [
            "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)",
        ], limits: ObjectStoreLimits(connectTimeout: .seconds(2), requestTimeout: .seconds(5), attempts: 3))
        let started = ContinuousClock.now
        let error = await Self.error { _ = try await store.get("k", maxBytes: 100, deadline: .now + .seconds(60)) }
        let elapsed = ContinuousClock.now - started
        guard case .unreachable(let reason) = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("\(port)"))
        #expect(elapsed < .seconds(30))
        await store.shutdown()
    }

    /// A store dropped without `shutdown()` (a caller that threw in between) shuts its client
    /// down itself: AsyncHTTPClient traps on an unshut client in a debug build, this process.
    /// A second `shutdown()` is harmless.
    @Test func aStoreDroppedWithoutShutdownShutsItselfDown() async throws {
        let port = try SeaweedFS.freePorts(1)[0]
        let environment = [
            "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)",
        ]
        let limits = ObjectStoreLimits(connectTimeout: .seconds(2), requestTimeout: .seconds(5), attempts: 1)
        do {
            let dropped = try ObjectStores.open(.s3(bucket: "cache", prefix: ""), environment: environment, limits: limits)
            let error = await Self.error { _ = try await dropped.exists("k", deadline: .now + .seconds(20)) }
            guard case .unreachable = error else {
                Issue.record("expected unreachable, got \(String(describing: error))")
                return
            }
        }
        let twice = try ObjectStores.open(.s3(bucket: "cache", prefix: ""), environment: environment, limits: limits)
        await twice.shutdown()
        await twice.shutdown()
        // Let the dropped client's shutdown, which does not block its deinit, run to its end.
        try await Task.sleep(for: .milliseconds(500))
    }

    /// A port that accepts connections and never answers: the caller's deadline ends it.
    @Test func silentStoreTimesOutAtTheDeadline() async throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(ok)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let store = try ObjectStores.open(.s3(bucket: "cache", prefix: ""), environment: [
            "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)",
        ], limits: ObjectStoreLimits(connectTimeout: .seconds(2), requestTimeout: .seconds(30), attempts: 3))
        let started = ContinuousClock.now
        let error = await Self.error { _ = try await store.exists("k", deadline: .now + .seconds(2)) }
        #expect(error == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(20))
        await store.shutdown()
    }

    @Test func fileStoreRoundTripAndRefusals() async throws {
        let root = try Self.temporaryDirectory()
        let local = try Self.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: local)
        }
        let store = try ObjectStores.open(try ObjectStoreLocation(parsing: "file://\(root)/"), environment: [:],
                                          limits: ObjectStoreLimits(maxObjectBytes: 3 << 20))
        let archive = Self.randomBytes(2 << 20)
        try Data(archive).write(to: URL(fileURLWithPath: local + "/a.tar"))
        try await store.upload(file: local + "/a.tar", as: "v1/ü dir/a.tar", contentType: "application/x-tar")
        try await store.put(Array("m".utf8), as: "v1/manifest.json", contentType: "application/json")
        #expect(try await store.exists("v1/ü dir/a.tar", deadline: soon))
        #expect(try await !store.exists("v1/none", deadline: soon))
        #expect(try await store.get("v1/manifest.json", maxBytes: 10, deadline: soon) == Array("m".utf8))
        #expect(try await store.download("v1/ü dir/a.tar", to: local + "/b.tar", deadline: soon) == archive.count)
        #expect(try Data(contentsOf: URL(fileURLWithPath: local + "/b.tar")) == Data(archive))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/v1").sorted() == ["manifest.json", "ü dir"])

        #expect(await Self.error { _ = try await store.get("v1/none", maxBytes: 10, deadline: soon) } == .notFound("v1/none"))
        #expect(await Self.error { _ = try await store.get("v1/manifest.json", maxBytes: 0, deadline: soon) } == .tooLarge(limit: 0))
        try await store.put(Self.randomBytes(3 << 20 + 1), as: "huge", contentType: "application/octet-stream")
        #expect(await Self.error { _ = try await store.download("huge", to: local + "/huge", deadline: soon) } == .tooLarge(limit: 3 << 20))
        #expect(!FileManager.default.fileExists(atPath: local + "/huge"))

        try "outside".write(toFile: local + "/secret.txt", atomically: true, encoding: .utf8)
        let escape = "../\(URL(fileURLWithPath: local).lastPathComponent)/secret.txt"
        #expect(await Self.error { _ = try await store.get(escape, maxBytes: 100, deadline: soon) } == .invalidKey(escape))
        #expect(await Self.error { try await store.put([1], as: "a/../../x", contentType: "text/plain") } == .invalidKey("a/../../x"))
        #expect(await Self.error { try await store.put([1], as: "/etc/x", contentType: "text/plain") } == .invalidKey("/etc/x"))
        #expect(!FileManager.default.fileExists(atPath: NSTemporaryDirectory() + "/x"))
        await store.shutdown()
    }
}
