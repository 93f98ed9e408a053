import DmypyObjectStore

/// Why a remote cache was not pushed or pulled: said once (the log, `cache status`, or the
/// command's one line), and then the build is cold with the right answer.
public enum RemoteCacheProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case notConfigured
    case store(ObjectStoreError)
    case lookup(CommitLookupProblem)
    case badManifest(String)
    case otherKey
    case noCache(base: String, lookedUp: Int)
    case sizeMismatch(expected: Int, got: Int)
    case engine(String)

    public var description: String {
        switch self {
        case .notConfigured:
            return "no remote cache is configured (--remote, DMYPY_REMOTE_CACHE or pyproject.toml's [tool.dmypy-swift] remote-cache)"
        case .store(let error): return "\(error)"
        case .lookup(let problem): return "\(problem)"
        case .badManifest(let why): return "its manifest is not usable: \(why)"
        case .otherKey: return "its manifest is for other options or another mypy or Python version"
        case .noCache(let base, let count):
            let ancestors = count <= 1 ? "" : " or its \(count - 1) first-parent ancestor\(count == 2 ? "" : "s")"
            return "no cache for these options and versions at commit \(base.prefix(12))\(ancestors)"
        case .sizeMismatch(let expected, let got): return "the archive has \(got) bytes, not the \(expected) its manifest says (truncated or changed)"
        case .engine(let why): return why
        }
    }
}
