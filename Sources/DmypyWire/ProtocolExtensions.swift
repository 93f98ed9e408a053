/// Fields our client and daemon add to mypy's protocol (mypy's client and server ignore or never
/// see them: the daemon removes them before a request reaches mypy).
public enum ProtocolExtensions {
    /// Set by our client on `run`: the daemon supplies its engine's mypy version.
    public static let ourClient = "dmypy_swift_client"
    /// The client's working directory: which project a request is for, under socket activation.
    public static let workingDirectory = "cwd"
    /// The client's environment (`KEY=value` strings), for the engine of a workspace it creates.
    public static let environment = "dmypy_swift_env"
    /// A non-final frame saying what a waiting request waits for ("checking: 2,168 modules"). mypy's
    /// client ignores frames without `stdout`/`stderr`; ours shows the text on a terminal.
    public static let progress = "dmypy_swift_progress"
    /// Our `start` under socket activation: `flags`, `allow_sources`, `timeout` and the
    /// client's terminals (`stdout_tty`, `stderr_tty`), as `dmypy start` passes them to a daemon.
    public static let startCommand = "start"
}
