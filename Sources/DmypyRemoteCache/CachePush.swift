import DmypyObjectStore

/// `dmypy cache push`'s upload: the archive, then the manifest that names it (a reader that finds
/// the manifest finds a complete archive; an archive's name is its checksum, so a concurrent push
/// of the same commit never replaces an archive a manifest points to).
public enum CachePush {
    public static func upload(_ store: any ObjectStore, key: String, commit: String, archive: String,
                              manifest: [UInt8], archiveName: String) async throws(RemoteCacheProblem) {
        do {
            try await store.upload(file: archive, as: RemoteCacheLayout.archive(key: key, commit: commit, name: archiveName),
                                   contentType: "application/gzip")
            try await store.put(manifest, as: RemoteCacheLayout.manifest(key: key, commit: commit), contentType: "application/json")
        } catch {
            throw .store(error)
        }
    }
}
