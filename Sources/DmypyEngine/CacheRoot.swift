/// Where the user's cache slots live (`engine_cache.py` has their layout), or why there are none:
/// `$XDG_CACHE_HOME/dmypy-swift` (by default `~/.cache/dmypy-swift`), never the project's
/// `.mypy_cache`; `DMYPY_CACHE=off` turns them off. The daemon and `dmypy cache` agree through this.
public enum CacheRoot: Equatable, Sendable {
    case at(String)
    case off(reason: String)

    public static let variable = "DMYPY_CACHE"

    public init(environment: [String: String]) {
        if let value = environment[Self.variable], ["off", "0", "no", "false"].contains(value.lowercased()) {
            self = .off(reason: "off (\(Self.variable)=\(value))")
        } else if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            self = .at(xdg + "/dmypy-swift")
        } else if let home = environment["HOME"], home.hasPrefix("/") {
            self = .at(home + "/.cache/dmypy-swift")
        } else {
            self = .off(reason: "off (neither XDG_CACHE_HOME nor HOME is set)")
        }
    }

    public var path: String? {
        if case .at(let path) = self { return path }
        return nil
    }
}
