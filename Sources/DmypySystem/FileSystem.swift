import CSupport
import Glibc

/// The few file operations the daemon and client need, without Foundation.
public enum FileSystem {
    /// The file (its first `limit` bytes: the daemon reads small files only, such as /proc entries
    /// and status files, and never lets a file it did not write make it read without end), or nil
    /// when it cannot be read.
    public static func read(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY) else { return nil }
        defer { fd.close() }
        return try? fd.readAll(limit: limit)
    }

    /// Writes a file atomically: a temporary file in the same directory, fsync'd when `durable`,
    /// then renamed over the target, so a reader sees the old content or the new, never a torn
    /// file. A failure (disk full, read-only directory) leaves the old file untouched and throws.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644, durable: Bool = true) throws(SystemError) {
        let temporary = "\(path).\(getpid()).tmp"
        let fd = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, mode: mode)
        do {
            try fd.writeAll(bytes)
            if durable { try syscall("fsync") { fsync(fd.rawValue) } }
            fd.close()
            try syscall("rename") { rename(temporary, path) }
        } catch {
            fd.close()
            unlink(temporary)
            throw error
        }
    }

    /// Removes a file; false when it was not there or could not be removed. `unlink(2)`
    @discardableResult
    public static func remove(_ path: String) -> Bool { unlink(path) == 0 }

    /// Removes an empty directory. `rmdir(2)`
    @discardableResult
    public static func removeDirectory(_ path: String) -> Bool { rmdir(path) == 0 }

    /// Removes a directory and everything under it; symbolic links are removed, never followed.
    /// Best effort: what cannot be removed stays.
    public static func removeTree(_ path: String) {
        for entry in DirectoryListing.entries(path) ?? [] {
            let child = "\(path)/\(entry.name)"
            if entry.kind == .directory { removeTree(child) } else { remove(child) }
        }
        removeDirectory(path)
    }

    /// A new private (0700) directory from a template ending in XXXXXX. `mkdtemp(3)`
    public static func makeTemporaryDirectory(prefix: String) throws(SystemError) -> String {
        let base = temporaryDirectory()
        var template = Array("\(base)/\(prefix)XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard result != nil else { throw SystemError(call: "mkdtemp", errno: cs_errno()) }
        return string(fromCString: template)
    }

    /// $TMPDIR, else /tmp, as Python's tempfile picks it.
    public static func temporaryDirectory() -> String {
        for name in ["TMPDIR", "TEMP", "TMP"] {
            if let value = getenv(name), value.pointee != 0 {
                let path = String(cString: value)
                if isDirectory(path) { return path }
            }
        }
        return "/tmp"
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    public static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    /// True when the file exists and may be executed by us. `access(2)`
    public static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0 && isRegularFile(path)
    }

    /// The current working directory. `getcwd(3)`
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return string(fromCString: buffer)
    }

    /// The target of a symbolic link (e.g. /proc/PID/exe). `readlink(2)`
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { return nil }
        buffer[n] = 0
        return string(fromCString: buffer)
    }

    /// Joins a path to a base directory unless it is absolute.
    public static func absolute(_ path: String, relativeTo base: String) -> String {
        if path.hasPrefix("/") { return path }
        return base.hasSuffix("/") ? base + path : base + "/" + path
    }
}

/// A Swift string from a NUL-terminated C buffer.
func string(fromCString buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.count
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
