/// Fields our client and daemon add to mypy's protocol (mypy's client and server ignore or never
/// see them: the daemon removes them before a request reaches mypy).
public enum ProtocolExtensions {
    /// Set by our client on `run`: the daemon supplies its engine's mypy version.
    public static let ourClient = "dmypy_swift_client"
    /// The client's working directory (for routing under socket activation).
    public static let workingDirectory = "cwd"
}
