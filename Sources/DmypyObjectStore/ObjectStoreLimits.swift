/// The bounds every store operation keeps to: a slow or dead store must cost a bounded time, and
/// a hostile or broken one a bounded amount of disk and memory.
public struct ObjectStoreLimits: Sendable, Equatable {
    /// Establishing one connection.
    public var connectTimeout: Duration
    /// One attempt, from sending the request to the last byte of the answer; the caller's
    /// deadline bounds all attempts together.
    public var requestTimeout: Duration
    /// How many times a request is tried in all (1 = no retry). Retried, with exponential backoff:
    /// connection failures, timeouts and 5xx answers (503 SlowDown among them); never a 4xx.
    public var attempts: Int
    /// The largest object `download` accepts.
    public var maxObjectBytes: Int

    public init(connectTimeout: Duration = .seconds(2), requestTimeout: Duration = .seconds(30),
                attempts: Int = 3, maxObjectBytes: Int = 2 << 30) {
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.attempts = max(1, attempts)
        self.maxObjectBytes = maxObjectBytes
    }
}
