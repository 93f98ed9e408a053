/// A place to keep objects by key: an S3 bucket (with a prefix) or a directory.
///
/// Keys are relative to the location's prefix, segments separated by "/"; a key with an empty,
/// `.` or `..` segment, or a leading "/", is refused with `invalidKey` by every store.
public protocol ObjectStore: Sendable {
    /// Downloads `key` into the file at `path`: written to a temporary file next to it, then
    /// renamed, so `path` is either absent or complete. Refuses more than `limits.maxObjectBytes`
    /// (checking the announced length and counting the bytes that arrive), leaving no file behind.
    /// Returns the byte count.
    func download(_ key: String, to path: String, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> Int
    /// A small object (a manifest) into memory, refusing more than `maxBytes`.
    func get(_ key: String, maxBytes: Int, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> [UInt8]
    /// Whether `key` exists (S3: HEAD).
    func exists(_ key: String, deadline: ContinuousClock.Instant) async throws(ObjectStoreError) -> Bool
    /// Uploads the file at `path` as `key`; readers see the old object or the whole new one.
    func upload(file path: String, as key: String, contentType: String) async throws(ObjectStoreError)
    /// Stores `bytes` as `key`.
    func put(_ bytes: [UInt8], as key: String, contentType: String) async throws(ObjectStoreError)
    /// Releases connections and threads; the store is not used afterwards.
    func shutdown() async
}

public enum ObjectStores {
    /// The store for `location`. For S3, credentials, region and endpoint come from `environment`
    /// (and the AWS files it names) as the AWS CLI finds them: see `S3Configuration.resolve`.
    public static func open(_ location: ObjectStoreLocation, environment: [String: String],
                            limits: ObjectStoreLimits) throws(ObjectStoreError) -> any ObjectStore {
        switch location {
        case .file(let directory):
            return FileStore(directory: directory, limits: limits)
        case .s3(let bucket, let prefix):
            let configuration = try S3Configuration.resolve(environment: environment)
            return S3Store(bucket: bucket, prefix: prefix, configuration: configuration, limits: limits)
        }
    }
}
