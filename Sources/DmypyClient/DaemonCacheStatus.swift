import DmypyWire

extension Client {
    /// The running daemon's view of this directory's cache (`status -v`'s `cache_*` fields), or
    /// nil when no daemon answers within a moment. For `dmypy cache status`.
    public func daemonCacheFields() -> JSONObject? {
        guard let response = try? request("status", timeout: 3), response["error"] == nil else { return nil }
        var fields = JSONObject()
        for (key, value) in response where key.hasPrefix("cache") { fields[key] = value }
        return fields
    }
}
