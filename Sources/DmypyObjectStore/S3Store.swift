import AsyncHTTPClient
import Dispatch
import DmypySystem
import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An S3 bucket (with a key prefix) through AsyncHTTPClient on an event loop group of its own
/// (one thread, ended by `shutdown()`, or by `deinit` for a store dropped without it, so a
/// caller that throws between opening and shutting down leaks nothing and trips no AsyncHTTPClient
/// precondition). Every request is signed with SigV4, payload hash
/// included; redirects are not followed (a wrong region is an error, not a silent detour);
/// connection failures, timeouts and 5xx answers are retried within the deadline.
public final class S3Store: ObjectStore {
    public let bucket: String
    public let prefix: String
    let configuration: S3Configuration
    let limits: ObjectStoreLimits
    let signer: SigV4Signer
    private let group: MultiThreadedEventLoopGroup
    private let client: HTTPClient
    private let shutDown = Atomic<Bool>(false)

    /// The largest error body read (S3's are well under 1 KiB).
    static let maxErrorBodyBytes = 64 << 10
    /// Upload bodies are read from the file in chunks of this size.
    static let uploadChunkBytes = 1 << 20

    public init(bucket: String, prefix: String, configuration: S3Configuration, limits: ObjectStoreLimits) {
        self.bucket = bucket
        self.prefix = prefix
        self.configuration = configuration
        self.limits = limits
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "s3", flavor: .s3)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var http = HTTPClient.Configuration()
        http.redirectConfiguration = .disallow
        http.timeout = .init(connect: limits.connectTimeout.timeAmount, read: limits.requestTimeout.timeAmount)
        http.connectionPool.retryConnectionEstablishment = false
        http.decompression = .disabled
        client = HTTPClient(eventLoopGroup: group, configuration: http)
    }

    public func shutdown() async {
        guard !shutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? await client.shutdown()
        try? await group.shutdownGracefully()
    }

    deinit {
        guard !shutDown.load(ordering: .acquiring) else { return }
        // Without blocking (the last reference may go on any thread): the client keeps itself
        // alive until its shutdown completes, then the group's threads end.
        let group = group
        client.shutdown(queue: .global()) { _ in group.shutdownGracefully(queue: .global()) { _ in } }
    }

    // MARK: The protocol

    public func download(_ key: String, to path: String, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> Int {
        let fullKey = try ObjectKey.full(key, prefix: prefix)
        let limit = limits.maxObjectBytes
        return try await withRetries(attempts: limits.attempts, requestTimeout: limits.requestTimeout, deadline: deadline) {
            (attemptDeadline) throws(ObjectStoreError) -> Int in
            let response = try await send("GET", key: fullKey, displayKey: key, deadline: attemptDeadline)
            try Self.checkAnnouncedLength(response, limit: limit)
            let writer = try LocalFiles.AtomicWriter(path: path)
            var count = 0
            do {
                for try await chunk in response.body {
                    count += chunk.readableBytes
                    if count > limit { throw ObjectStoreError.tooLarge(limit: limit) }
                    try writer.write(Array(chunk.readableBytesView))
                }
            } catch {
                writer.abandon()
                throw Self.transportError(error, host: "the store", deadline: attemptDeadline)
            }
            try writer.commit()
            return count
        }
    }

    public func get(_ key: String, maxBytes: Int, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> [UInt8] {
        let fullKey = try ObjectKey.full(key, prefix: prefix)
        return try await withRetries(attempts: limits.attempts, requestTimeout: limits.requestTimeout, deadline: deadline) {
            (attemptDeadline) throws(ObjectStoreError) -> [UInt8] in
            let response = try await send("GET", key: fullKey, displayKey: key, deadline: attemptDeadline)
            try Self.checkAnnouncedLength(response, limit: maxBytes)
            var bytes: [UInt8] = []
            do {
                for try await chunk in response.body {
                    if bytes.count + chunk.readableBytes > maxBytes { throw ObjectStoreError.tooLarge(limit: maxBytes) }
                    bytes += chunk.readableBytesView
                }
            } catch {
                throw Self.transportError(error, host: "the store", deadline: attemptDeadline)
            }
            return bytes
        }
    }

    public func exists(_ key: String, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> Bool {
        let fullKey = try ObjectKey.full(key, prefix: prefix)
        return try await withRetries(attempts: limits.attempts, requestTimeout: limits.requestTimeout, deadline: deadline) {
            (attemptDeadline) throws(ObjectStoreError) -> Bool in
            do throws(ObjectStoreError) {
                _ = try await send("HEAD", key: fullKey, displayKey: key, deadline: attemptDeadline)
                return true
            } catch .notFound {
                return false
            }
        }
    }

    public func upload(file path: String, as key: String, contentType: String) async throws(ObjectStoreError) {
        let fullKey = try ObjectKey.full(key, prefix: prefix)
        let (size, hash) = try Self.sizeAndHash(of: path)
        _ = try await withRetries(attempts: limits.attempts, requestTimeout: limits.requestTimeout, deadline: writeDeadline()) {
            (attemptDeadline) throws(ObjectStoreError) -> HTTPClientResponse in
            try await send("PUT", key: fullKey, displayKey: key, body: .stream(FileChunks(path: path), length: .known(Int64(size))),
                           payloadHash: hash, contentType: contentType, deadline: attemptDeadline)
        }
    }

    public func put(_ bytes: [UInt8], as key: String, contentType: String) async throws(ObjectStoreError) {
        let fullKey = try ObjectKey.full(key, prefix: prefix)
        let hash = SigV4Signer.hexSHA256(bytes)
        _ = try await withRetries(attempts: limits.attempts, requestTimeout: limits.requestTimeout, deadline: writeDeadline()) {
            (attemptDeadline) throws(ObjectStoreError) -> HTTPClientResponse in
            try await send("PUT", key: fullKey, displayKey: key, body: .bytes(bytes), payloadHash: hash,
                           contentType: contentType, deadline: attemptDeadline)
        }
    }

    /// Creates the bucket (for tests and set-up; in us-east-1, or on endpoints that ignore the
    /// location constraint). A bucket we already own is not an error.
    public func createBucket(deadline: ContinuousClock.Instant) async throws(ObjectStoreError) {
        do throws(ObjectStoreError) {
            _ = try await withRetries(attempts: limits.attempts, requestTimeout: limits.requestTimeout, deadline: deadline) {
                (attemptDeadline) throws(ObjectStoreError) -> HTTPClientResponse in
                try await send("PUT", key: nil, displayKey: nil, deadline: attemptDeadline)
            }
        } catch .badResponse(_, "BucketAlreadyOwnedByYou") {
        }
    }

    // MARK: One request

    /// Uploads have no caller deadline: every attempt may take the request timeout, plus backoff.
    private func writeDeadline() -> ContinuousClock.Instant {
        .now + limits.requestTimeout * limits.attempts + .seconds(5)
    }

    /// Signs and sends one request; a non-2xx answer is thrown as its error value (its body read,
    /// up to a bound, for S3's error code). The response's body is left to the caller to stream.
    private func send(_ method: String, key: String?, displayKey: String?, body: HTTPClientRequest.Body? = nil,
                      payloadHash: String = SigV4Signer.emptyPayloadHash, contentType: String? = nil,
                      deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> HTTPClientResponse {
        let address = S3Address(endpoint: configuration.endpoint, region: configuration.region, bucket: bucket, key: key)
        var headers: [(name: String, value: String)] = [("host", address.host)]
        if let contentType { headers.append(("content-type", contentType)) }
        let signed = signer.sign(SigV4Signer.Request(method: method, path: address.path, headers: headers, payloadHash: payloadHash),
                                 date: .now())
        var request = HTTPClientRequest(url: address.url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers + signed.headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = body }

        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline.nioDeadline)
        } catch {
            throw Self.transportError(error, host: address.host, deadline: deadline)
        }
        let status = Int(response.status.code)
        if (200..<300).contains(status) { return response }
        var errorBody: [UInt8] = []
        if method != "HEAD" {
            do {
                let buffer = try await response.body.collect(upTo: Self.maxErrorBodyBytes)
                errorBody = Array(buffer.readableBytesView)
            } catch {
                // An unreadable error body: the status alone decides.
            }
        }
        throw S3Errors.error(status: status, body: errorBody, key: displayKey, bucket: bucket)
    }

    private static func checkAnnouncedLength(_ response: HTTPClientResponse, limit: Int) throws(ObjectStoreError) {
        if let text = response.headers.first(name: "content-length"), let length = Int(text), length > limit {
            throw .tooLarge(limit: limit)
        }
    }

    /// A failure below HTTP as our error value: timeouts as `timedOut`, the rest as `unreachable`
    /// with the host and a short reason. Our own errors pass through.
    static func transportError(_ error: any Error, host: String, deadline: ContinuousClock.Instant) -> ObjectStoreError {
        if let ours = error as? ObjectStoreError { return ours }
        if error is CancellationError { return .timedOut }
        if let client = error as? HTTPClientError {
            if [.deadlineExceeded, .readTimeout, .writeTimeout, .getConnectionFromPoolTimeout].contains(client) { return .timedOut }
            if client == .connectTimeout { return .unreachable("\(host): connection timed out") }
            if client == .remoteConnectionClosed { return .unreachable("\(host): the connection was closed") }
            return .unreachable("\(host): \(client)")
        }
        if let connection = error as? NIOConnectionError {
            if let failure = connection.connectionErrors.first?.error as? IOError {
                return .unreachable("\(connection.host):\(connection.port): \(String(cString: strerror(failure.errnoCode)))")
            }
            return .unreachable("\(connection.host):\(connection.port): \(connection)")
        }
        if let io = error as? IOError { return .unreachable("\(host): \(String(cString: strerror(io.errnoCode)))") }
        if ContinuousClock.now >= deadline { return .timedOut }
        return .unreachable("\(host): \(String(describing: error).prefix(200))")
    }

    /// The file's size and SHA-256, read once before the upload (S3 checks the body against the
    /// signed hash, so a file changed in between fails instead of landing torn).
    static func sizeAndHash(of path: String) throws(ObjectStoreError) -> (Int, String) {
        guard let fd = try LocalFiles.openForReading(path) else { throw .io("\(path): no such file") }
        defer { fd.close() }
        var hasher = StreamingSHA256()
        var size = 0
        while true {
            let chunk = try LocalFiles.read(fd, upTo: uploadChunkBytes, path: path)
            if chunk.isEmpty { break }
            size += chunk.count
            hasher.update(chunk)
        }
        return (size, hasher.hexDigest())
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var timeAmount: TimeAmount { .nanoseconds(nanoseconds) }
}

extension ContinuousClock.Instant {
    var nioDeadline: NIODeadline { .now() + (self - .now).timeAmount }
}
