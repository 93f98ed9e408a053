import DmypySystem

/// Lets a burst of events settle: fires `debounce` seconds after the last event, but never later
/// than `maximumDelay` after the first, so a steady stream of writes cannot hold a batch back.
///
/// One timerfd, armed once per burst: an event only records its time, and when the timer fires
/// early (more events came since) it re-arms for the remainder. Idle, nothing is armed.
final class Debouncer {
    let debounce: Double
    let maximumDelay: Double
    private var timer: LoopTimer?
    private var burstStart: Double?
    private var lastEvent = 0.0
    private let settled: () -> Void

    init(loop: EventLoop, debounce: Double, maximumDelay: Double, settled: @escaping () -> Void) throws(SystemError) {
        self.debounce = max(debounce, 0)
        self.maximumDelay = max(maximumDelay, self.debounce)
        self.settled = settled
        timer = try LoopTimer(loop: loop) { [weak self] in self?.fire() }
    }

    var isPending: Bool { burstStart != nil }

    /// Records an event of the current burst (starting one if none is pending).
    func noteEvent() {
        let now = Clock.monotonic()
        lastEvent = now
        if burstStart == nil {
            burstStart = now
            timer?.schedule(after: debounce)
        }
    }

    /// Forgets the pending burst (its changes were taken some other way).
    func cancel() {
        guard burstStart != nil else { return }
        burstStart = nil
        timer?.cancel()
    }

    func close() {
        timer?.close()
        timer = nil
    }

    private func fire() {
        guard let start = burstStart else { return }
        let now = Clock.monotonic()
        let due = min(lastEvent + debounce, start + maximumDelay)
        if due - now > 0.000_5 {
            timer?.schedule(after: due - now)
            return
        }
        burstStart = nil
        settled()
    }
}
