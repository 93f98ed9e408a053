import DmypyEngine

/// How a workspace keeps its cache slot, read from the environment of the `dmypy` that created it
/// (an environment variable keeps mypy's command line identical).
///
/// - `DMYPY_CACHE=off` turns it all off: no slot is loaded or written.
/// - `XDG_CACHE_HOME` (default `~/.cache`) holds `dmypy-swift/`, never the project's `.mypy_cache`.
/// - `DMYPY_CACHE_IDLE_SECONDS` (default 30): how long the daemon is idle after edits before the
///   slot is refreshed in the background.
/// - `DMYPY_CACHE_LOAD_TIMEOUT` (default 120): a start that loads a slot and has not answered
///   by then is given up (a hung load), the slot discarded, and the build goes cold.
/// - `DMYPY_CACHE_MAX_MB` (default 4096): the total size of every slot of the user.
struct CacheSettings: Equatable {
    var root: String?
    var idleSeconds: Double = 30
    var loadTimeout: Double = 120
    var maximumBytes: Int = 4096 << 20
    /// Why there is no cache, when `root` is nil.
    var offReason: String?

    static let variable = CacheRoot.variable

    init(environment: [String: String]) {
        switch CacheRoot(environment: environment) {
        case .off(let reason):
            offReason = reason
            return
        case .at(let path):
            root = path
        }
        if let value = environment["DMYPY_CACHE_IDLE_SECONDS"].flatMap(Double.init), value >= 0 { idleSeconds = value }
        if let value = environment["DMYPY_CACHE_LOAD_TIMEOUT"].flatMap(Double.init), value > 0 { loadTimeout = value }
        if let value = environment["DMYPY_CACHE_MAX_MB"].flatMap(Int.init), value > 0 { maximumBytes = value << 20 }
    }
}
