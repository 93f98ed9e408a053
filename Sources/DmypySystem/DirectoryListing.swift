import Glibc

/// One entry of a directory, typed from `d_type` (with `lstat` where the file system does not say).
public struct DirectoryEntry: Equatable, Sendable {
    public enum Kind: Sendable { case directory, file, symbolicLink, other }
    public let name: String
    public let kind: Kind
}

public struct FileIdentity: Equatable, Sendable {
    public let device: UInt64
    public let inode: UInt64
}

public enum DirectoryListing {
    /// The entries of a directory without `.` and `..`, or nil when it cannot be read. Symbolic
    /// links are reported as such, not followed. `readdir(3)`
    public static func entries(_ path: String) -> [DirectoryEntry]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var result: [DirectoryEntry] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let kind: DirectoryEntry.Kind
            switch Int(entry.pointee.d_type) {
            case Int(DT_DIR): kind = .directory
            case Int(DT_REG): kind = .file
            case Int(DT_LNK): kind = .symbolicLink
            case Int(DT_UNKNOWN): kind = lstatKind(path == "/" ? "/" + name : path + "/" + name)
            default: kind = .other
            }
            result.append(DirectoryEntry(name: name, kind: kind))
        }
        return result
    }

    /// Device and inode of what `path` names (following symbolic links), or nil. `stat(2)`
    public static func identity(_ path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    private static func lstatKind(_ path: String) -> DirectoryEntry.Kind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .other }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }
}
