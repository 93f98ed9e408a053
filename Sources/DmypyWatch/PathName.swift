/// Absolute paths as plain strings, handled lexically (no symlink resolution): the watcher and the
/// graph compare the paths the kernel and mypy give them, so both sides are normalized the same way.
public enum PathName {
    /// `path` made absolute against `base` (when relative), with `.`, `..` and repeated or trailing
    /// slashes removed. A relative path without a base stays relative.
    public static func normalize(_ path: String, relativeTo base: String? = nil) -> String {
        if isNormalAbsolute(path) { return path }   // what the engine and the kernel send, nearly always
        var full = path
        if !path.hasPrefix("/"), let base { full = base + "/" + path }
        let absolute = full.hasPrefix("/")
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            if part == "." { continue }
            if part == "..", let last = parts.last, last != ".." {
                parts.removeLast()
                continue
            }
            if part == ".." && absolute { continue }   // "/.." is "/"
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// Whether `path` is already what `normalize` makes of it: absolute, with no empty, `.` or
    /// `..` component and no trailing slash. One pass over the bytes, no allocation.
    static func isNormalAbsolute(_ path: String) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        var bytes = path.utf8.makeIterator()
        guard bytes.next() == slash else { return false }
        var length = 0, dots = 0   // of the component being read
        var components = 0
        while let byte = bytes.next() {
            if byte == slash {
                if length == 0 || (dots == length && length <= 2) { return false }
                components += 1
                length = 0
                dots = 0
            } else {
                length += 1
                if byte == dot { dots += 1 }
            }
        }
        if length == 0 { return components == 0 }   // "/" itself, or a trailing slash
        return !(dots == length && length <= 2)
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory == "/" ? "/" + name : directory + "/" + name
    }

    /// The directory holding `path` ("/" for a top-level entry).
    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func lastComponent(_ path: String) -> Substring {
        guard let slash = path.lastIndex(of: "/") else { return path[...] }
        return path[path.index(after: slash)...]
    }

    /// True when `path` is `directory` or lies below it.
    static func isUnder(_ path: String, _ directory: String) -> Bool {
        if directory == "/" { return path.hasPrefix("/") }
        guard path.hasPrefix(directory) else { return false }
        if path.utf8.count == directory.utf8.count { return true }
        return path.utf8[path.utf8.index(path.utf8.startIndex, offsetBy: directory.utf8.count)] == UInt8(ascii: "/")
    }
}
