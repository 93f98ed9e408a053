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

    /// `fs.inotify.max_user_watches`, or nil when it cannot be read.
    static func watchLimit() -> Int? {
        guard let bytes = FileSystem.read("/proc/sys/fs/inotify/max_user_watches") else { return nil }
        return Int(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace })
    }
}
