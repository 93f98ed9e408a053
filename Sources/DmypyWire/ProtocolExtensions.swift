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
    /// On a `check` or `run` request: subscribe to that build. The connection stays open; the
    /// answer, and the result of every later run of the same build (a pre-check after files
    /// changed, an identical check of anyone's), arrive as non-final frames holding `result`
    /// (mypy's response) and `changed` (the files that caused it). Never a final frame: the
    /// subscriber hangs up when done. Used by `dmypy watch` and `dmypy lsp`.
    public static let subscribe = "dmypy_swift_subscribe"
    public static let result = "dmypy_swift_result"
    public static let changed = "dmypy_swift_changed"
    /// With each result: how long mypy ran for it, in seconds (0 when answered from memory).
    public static let seconds = "dmypy_swift_seconds"
    /// Our `overlay` command: `path` (absolute) is checked as `text` says (an editor's unsaved
    /// buffer; null drops it) by the workspace's engine, without touching the file; answered at once.
    public static let overlayCommand = "dmypy_swift_overlay"
}
