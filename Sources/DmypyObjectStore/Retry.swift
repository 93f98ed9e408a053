/// Runs `attempt` up to `attempts` times while the error is retryable, with exponential backoff
/// (100 ms doubling, at most 2 s, jittered), never starting an attempt or a wait that would end
/// past `deadline`. Each attempt gets its own deadline: `requestTimeout` from its start, capped
/// by `deadline`.
func withRetries<T>(attempts: Int, requestTimeout: Duration, deadline: ContinuousClock.Instant,
                    _ attempt: (ContinuousClock.Instant) async throws(ObjectStoreError) -> T) async throws(ObjectStoreError) -> T {
    var number = 1
    var delay = Duration.milliseconds(100)
    while true {
        let now = ContinuousClock.now
        guard now < deadline else { throw .timedOut }
        do {
            return try await attempt(min(now + requestTimeout, deadline))
        } catch {
            guard error.isRetryable, number < attempts else { throw error }
            let wake = ContinuousClock.now + delay * Double.random(in: 0.5...1.0)
            guard wake < deadline else { throw error }
            do { try await Task.sleep(until: wake, clock: .continuous) } catch { throw ObjectStoreError.timedOut }
            number += 1
            delay = min(delay * 2, .seconds(2))
        }
    }
}
