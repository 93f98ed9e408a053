import DmypySystem
import Glibc

/// A directory that could not be watched: where, and the errno `inotify_add_watch` left.
public struct WatchFailure: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let error: SystemError

    public init(path: String, error: SystemError) {
        self.path = path
        self.error = error
    }

    /// ENOSPC from `inotify_add_watch`: the user's inotify watches are used up.
    public var isOutOfWatches: Bool { error.errno == ENOSPC }

    public var description: String {
        if isOutOfWatches {
            let limit = Watcher.watchLimit().map { "\($0.sysctl) (\($0.value))" } ?? "fs.inotify.max_user_watches"
            return "Failed to watch '\(path)': the inotify watch limit \(limit) is reached"
        }
        return "Failed to watch '\(path)': \(error.reason)"
    }
}
