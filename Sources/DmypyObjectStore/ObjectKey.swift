/// Checks a key and joins it to a location's prefix.
enum ObjectKey {
    /// `prefix/key` (or `key` when there is no prefix), after refusing keys that could name
    /// something outside the prefix or that URL handling would normalize: empty, leading "/",
    /// an empty, `.` or `..` segment, or a NUL.
    static func full(_ key: String, prefix: String) throws(ObjectStoreError) -> String {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !key.isEmpty, !key.utf8.contains(0),
              segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw .invalidKey(key)
        }
        return prefix.isEmpty ? key : "\(prefix)/\(key)"
    }
}
