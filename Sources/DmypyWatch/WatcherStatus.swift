import DmypySystem

extension Watcher {
    /// Watching, or out of watches for good: events still arrive from the watches that exist, but
    /// every batch has `needsRecrawl` set and the daemon falls back to mypy's stat scan.
    public enum State: Equatable, Sendable {
        case watching
        case fallback(WatchFailure)
    }

    /// For `dmypy status -v`.
    public struct Stats: Equatable, Sendable {
        public var directoriesWatched = 0
        /// Single files asked for with `watch(files:)`.
        public var filesWatched = 0
        /// Every event read from the kernel, relevant or not.
        public var eventsSeen = 0
        public var batchesDelivered = 0
        public var overflows = 0
        /// When the kernel last dropped events, in seconds since the Unix epoch.
        public var lastOverflow: Double?
        /// Overflows, unknown watch descriptors and read failures that asked for a recrawl.
        public var recrawlsRequested = 0
        /// Why the watcher is in fallback, or nil.
        public var fallbackReason: String?
    }

    /// The inotify watch limit that applies to this process and the sysctl that sets it:
    /// `fs.inotify.max_user_watches`, or this user namespace's `user.max_inotify_watches` when
    /// that is lower (in a container, say); nil when neither can be read.
    static func watchLimit() -> (sysctl: String, value: Int)? {
        let limits: [(sysctl: String, value: Int)] = [
            ("fs.inotify.max_user_watches", "/proc/sys/fs/inotify/max_user_watches"),
            ("user.max_inotify_watches", "/proc/sys/user/max_inotify_watches"),
        ].compactMap { sysctl, path in
            guard let bytes = FileSystem.read(path),
                  let value = Int(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }) else { return nil }
            return (sysctl, value)
        }
        return limits.min { $0.value < $1.value }
    }
}
