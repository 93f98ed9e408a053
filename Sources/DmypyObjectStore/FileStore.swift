import DmypySystem
import Glibc

/// A directory as a store (`file:///shared/cache`): a key is a relative path under it. Writes go
/// to a temporary file in the target's directory and are renamed into place, so a reader sees
/// the old object or the whole new one. Keys with `..` (or `.`, empty segments, a leading "/")
/// are refused before any file is touched.
public struct FileStore: ObjectStore {
    public let directory: String
    let limits: ObjectStoreLimits

    static let chunkBytes = 1 << 20

    public init(directory: String, limits: ObjectStoreLimits) {
        self.directory = directory
        self.limits = limits
    }

    public func download(_ key: String, to path: String, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> Int {
        let source = try self.path(of: key)
        guard let fd = try LocalFiles.openForReading(source) else { throw .notFound(key) }
        defer { fd.close() }
        let limit = limits.maxObjectBytes
        guard try LocalFiles.size(of: fd, path: source) <= limit else { throw .tooLarge(limit: limit) }
        let writer = try LocalFiles.AtomicWriter(path: path)
        var count = 0
        do throws(ObjectStoreError) {
            while true {
                let chunk = try LocalFiles.read(fd, upTo: Self.chunkBytes, path: source)
                if chunk.isEmpty { break }
                count += chunk.count
                if count > limit { throw .tooLarge(limit: limit) }
                try writer.write(chunk)
            }
        } catch {
            writer.abandon()
            throw error
        }
        try writer.commit()
        return count
    }

    public func get(_ key: String, maxBytes: Int, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> [UInt8] {
        let source = try self.path(of: key)
        guard let fd = try LocalFiles.openForReading(source) else { throw .notFound(key) }
        defer { fd.close() }
        guard try LocalFiles.size(of: fd, path: source) <= maxBytes else { throw .tooLarge(limit: maxBytes) }
        var bytes: [UInt8] = []
        while true {
            let chunk = try LocalFiles.read(fd, upTo: Self.chunkBytes, path: source)
            if chunk.isEmpty { return bytes }
            if bytes.count + chunk.count > maxBytes { throw .tooLarge(limit: maxBytes) }
            bytes += chunk
        }
    }

    public func exists(_ key: String, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> Bool {
        LocalFiles.isRegularFile(try path(of: key))
    }

    public func upload(file path: String, as key: String, contentType: String) async throws(ObjectStoreError) {
        let target = try self.path(of: key)
        guard let fd = try LocalFiles.openForReading(path) else { throw .io("\(path): no such file") }
        defer { fd.close() }
        try LocalFiles.makeDirectories(LocalFiles.parent(of: target))
        let writer = try LocalFiles.AtomicWriter(path: target)
        do throws(ObjectStoreError) {
            while true {
                let chunk = try LocalFiles.read(fd, upTo: Self.chunkBytes, path: path)
                if chunk.isEmpty { break }
                try writer.write(chunk)
            }
        } catch {
            writer.abandon()
            throw error
        }
        try writer.commit()
    }

    public func put(_ bytes: [UInt8], as key: String, contentType: String) async throws(ObjectStoreError) {
        let target = try self.path(of: key)
        try LocalFiles.makeDirectories(LocalFiles.parent(of: target))
        let writer = try LocalFiles.AtomicWriter(path: target)
        do throws(ObjectStoreError) { try writer.write(bytes) } catch {
            writer.abandon()
            throw error
        }
        try writer.commit()
    }

    public func shutdown() async {}

    private func path(of key: String) throws(ObjectStoreError) -> String {
        "\(directory)/\(try ObjectKey.full(key, prefix: ""))"
    }
}
