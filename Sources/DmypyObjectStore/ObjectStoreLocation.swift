/// Where a store is, parsed once from the user's string (`DMYPY_REMOTE_CACHE`, pyproject.toml).
public enum ObjectStoreLocation: Equatable, Sendable, CustomStringConvertible {
    /// `s3://bucket/some/prefix`: the prefix has no leading or trailing slash and may be "".
    case s3(bucket: String, prefix: String)
    /// `file:///abs/path`: a directory on a shared filesystem, without a trailing slash.
    case file(directory: String)

    public init(parsing text: String) throws(ObjectStoreError) {
        if text.hasPrefix("s3://") {
            let rest = text.dropFirst("s3://".count)
            let bucket = String(rest.prefix { $0 != "/" })
            let prefix = rest.dropFirst(bucket.count).split(separator: "/", omittingEmptySubsequences: true)
            guard Self.isBucketName(bucket), prefix.allSatisfy({ $0 != "." && $0 != ".." }) else {
                throw .invalidLocation(text)
            }
            self = .s3(bucket: bucket, prefix: prefix.joined(separator: "/"))
        } else if text.hasPrefix("file://") {
            var path = String(text.dropFirst("file://".count))
            guard path.hasPrefix("/"), !path.split(separator: "/").contains(where: { $0 == ".." }) else {
                throw .invalidLocation(text)
            }
            while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
            self = .file(directory: path)
        } else {
            throw .invalidLocation(text)
        }
    }

    public var description: String {
        switch self {
        case .s3(let bucket, let prefix): prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)"
        case .file(let directory): "file://\(directory)"
        }
    }

    /// S3's rules, loosely: 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending
    /// with a letter or digit.
    static func isBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        let allowed = { (b: UInt8) in (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2e || b == 0x2d }
        let edge = { (b: UInt8) in (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        return bytes.allSatisfy(allowed) && edge(bytes.first!) && edge(bytes.last!)
    }
}
