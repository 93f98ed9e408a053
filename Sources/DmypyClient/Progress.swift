import DmypySystem

/// On a terminal only, a line on stderr saying what we wait for once a request takes longer than
/// a second, erased when the answer comes. On a pipe nothing is printed, so editors see exactly
/// mypy's bytes.
final class Progress {
    private var label: String
    private var started = 0.0
    private var shown = false

    init?(label: String) {
        guard FileDescriptor.standardError.isTerminal else { return nil }
        self.label = label
    }

    func begin() { started = Clock.monotonic() }

    /// What the daemon says it is doing now.
    func update(_ label: String) {
        self.label = label
        if shown { tick() }
    }

    func tick() {
        let elapsed = Clock.monotonic() - started
        guard elapsed >= 1 else { return }
        Console.err("\r\u{1B}[Kdmypy: \(label)… \(Int(elapsed))s")
        shown = true
    }

    func clear() {
        guard shown else { return }
        Console.err("\r\u{1B}[K")
        shown = false
    }

    func end() { clear() }
}
