import Glibc

/// One entry of a directory, typed from `d_type` (with `lstat` where the file system does not say).
struct DirectoryEntry {
    enum Kind { case directory, file, symbolicLink, other }
    let name: String
    let kind: Kind
}

struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64
}

enum DirectoryListing {
    /// The entries of a directory without `.` and `..`, or nil when it cannot be read. Symbolic
    /// links are reported as such, not followed. `readdir(3)`
    static func entries(_ path: String) -> [DirectoryEntry]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var result: [DirectoryEntry] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            let kind: DirectoryEntry.Kind
            switch Int(entry.pointee.d_type) {
            case Int(DT_DIR): kind = .directory
            case Int(DT_REG): kind = .file
            case Int(DT_LNK): kind = .symbolicLink
            case Int(DT_UNKNOWN): kind = lstatKind(PathName.join(path, name))
            default: kind = .other
            }
            result.append(DirectoryEntry(name: name, kind: kind))
        }
        return result
    }

    /// Device and inode of what `path` names (following symbolic links), or nil. `stat(2)`
    static func identity(_ path: String) -> FileIdentity? {
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
