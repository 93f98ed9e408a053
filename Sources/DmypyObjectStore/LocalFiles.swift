import DmypySystem
import Glibc

/// The few local file operations the stores need, on DmypySystem's descriptors, with failures
/// as `ObjectStoreError.io` naming the path.
enum LocalFiles {
    /// A temporary file next to `path` that becomes `path` only by `commit()`; `abandon()` (or
    /// any failure) removes it, so `path` is never seen half-written.
    struct AtomicWriter {
        let path: String
        let temporary: String
        let fd: FileDescriptor

        init(path: String) throws(ObjectStoreError) {
            self.path = path
            temporary = "\(path).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            do {
                fd = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            } catch {
                throw .io("\(temporary): \(error.reason)")
            }
        }

        /// Appends; on failure the caller still owns the writer and abandons it.
        func write(_ bytes: [UInt8]) throws(ObjectStoreError) {
            do { try fd.writeAll(bytes) } catch { throw .io("\(temporary): \(error.reason)") }
        }

        /// fsync, close, rename over `path`. `rename(2)`
        func commit() throws(ObjectStoreError) {
            if fsync(fd.rawValue) != 0 {
                let reason = String(cString: strerror(errno))
                abandon()
                throw .io("\(temporary): fsync: \(reason)")
            }
            fd.close()
            if rename(temporary, path) != 0 {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw .io("\(path): rename: \(reason)")
            }
        }

        func abandon() {
            fd.close()
            unlink(temporary)
        }
    }

    /// Opens a file for reading; nil when it does not exist.
    static func openForReading(_ path: String) throws(ObjectStoreError) -> FileDescriptor? {
        do { return try FileDescriptor.open(path, O_RDONLY) } catch {
            if error.errno == ENOENT || error.errno == ENOTDIR { return nil }
            throw .io("\(path): \(error.reason)")
        }
    }

    /// The size of an open regular file; throws for anything else. `fstat(2)`
    static func size(of fd: FileDescriptor, path: String) throws(ObjectStoreError) -> Int {
        var info = stat()
        guard fstat(fd.rawValue, &info) == 0 else { throw .io("\(path): \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .io("\(path): not a regular file") }
        return Int(info.st_size)
    }

    /// Reads up to `count` bytes (fewer only at the end of the file).
    static func read(_ fd: FileDescriptor, upTo count: Int, path: String) throws(ObjectStoreError) -> [UInt8] {
        do {
            switch try fd.read(upTo: count) {
            case .done(let bytes): return bytes
            case .wouldBlock: return []
            }
        } catch {
            throw .io("\(path): \(error.reason)")
        }
    }

    static func isRegularFile(_ path: String) -> Bool { FileSystem.isRegularFile(path) }

    /// `mkdir -p`. `mkdir(2)`
    static func makeDirectories(_ path: String) throws(ObjectStoreError) {
        var current = ""
        for segment in path.split(separator: "/") {
            current += "/" + segment
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw .io("\(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The directory part of a path ("/" for a file at the root).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
