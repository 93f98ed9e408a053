import DmypyObjectStore

/// The store behind a remote-cache location, with our limits: `DMYPY_REMOTE_CACHE_MAX_MB`
/// (default 2048) caps an archive.
public enum RemoteStore {
    public static func open(_ location: String, environment: [String: String], requestTimeout: Double) throws(RemoteCacheProblem)
        -> any ObjectStore
    {
        do {
            let place = try ObjectStoreLocation(parsing: location)
            var limits = ObjectStoreLimits()
            limits.requestTimeout = .milliseconds(Int(requestTimeout * 1000))
            if let megabytes = environment["DMYPY_REMOTE_CACHE_MAX_MB"].flatMap(Int.init), megabytes > 0 {
                limits.maxObjectBytes = megabytes << 20
            }
            return try ObjectStores.open(place, environment: environment, limits: limits)
        } catch {
            throw .store(error)
        }
    }
}
