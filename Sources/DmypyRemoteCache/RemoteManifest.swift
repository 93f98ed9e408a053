import DmypyWire

/// Where a portable key's caches live in the store, under the location's prefix:
/// `<key>/<commit>/manifest.json`, written last, names the archive next to it.
public enum RemoteCacheLayout {
    public static func manifest(key: String, commit: String) -> String { "\(key)/\(commit)/manifest.json" }
    public static func archive(key: String, commit: String, name: String) -> String { "\(key)/\(commit)/\(name)" }
    /// A manifest is small; anything bigger is not one.
    public static let maximumManifestBytes = 1 << 20
}

/// The manifest of one remote cache (`engine_remote.export` writes it), decoded once here.
/// The engine checks the rest (key, checksum) again before it unpacks anything.
public struct RemoteManifest: Equatable, Sendable {
    public var portableKey: String
    public var commit: String?
    /// The archive's name next to the manifest: `cache-<16 hex>.tar.gz`, nothing else.
    public var archive: String
    public var sha256: String
    public var bytes: Int
    public var modules: Int
    public var dependencyEdges: Int
    public var mypyVersion: String?
    public var python: String?
    /// As read, for the engine.
    public var json: JSONObject

    public static let format = 1

    public init(parsing bytes: [UInt8]) throws(RemoteCacheProblem) {
        guard let json = (try? JSONParser.parse(bytes))?.objectValue else { throw .badManifest("it is not a JSON object") }
        guard json["format"]?.intValue == Self.format else { throw .badManifest("it has another format (another version of dmypy-swift)") }
        guard let key = json["portable_key"]?.stringValue, let archive = json["archive"]?.stringValue,
              let sha256 = json["sha256"]?.stringValue, let bytes = json["bytes"]?.intValue, bytes > 0 else {
            throw .badManifest("a field is missing")
        }
        guard Self.isArchiveName(archive) else { throw .badManifest("its archive name is not one of ours") }
        guard (json["dependency_edges"]?.intValue ?? 0) > 0, (json["modules"]?.intValue ?? 0) > 0 else {
            throw .badManifest("it holds no modules or no fine-grained dependency edges")
        }
        self.portableKey = key
        self.commit = json["commit"]?.stringValue
        self.archive = archive
        self.sha256 = sha256
        self.bytes = bytes
        self.modules = json["modules"]?.intValue ?? 0
        self.dependencyEdges = json["dependency_edges"]?.intValue ?? 0
        self.mypyVersion = json["mypy_version"]?.stringValue
        self.python = json["python"]?.stringValue
        self.json = json
    }

    static func isArchiveName(_ name: String) -> Bool {
        guard name.hasPrefix("cache-"), name.hasSuffix(".tar.gz") else { return false }
        let hex = name.dropFirst("cache-".count).dropLast(".tar.gz".count)
        return hex.count == 16 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
