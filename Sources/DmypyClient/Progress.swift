import DmypySystem
import Glibc

/// On a terminal only, a line on stderr saying what we wait for once a request takes longer than
/// a second, erased when the answer comes. On a pipe nothing is printed, so editors see exactly
/// mypy's bytes.
final class Progress {
    private let label: String
    private var started = 0.0
    private var shown = false

    init?(label: String) {
        guard FileDescriptor.standardError.isTerminal else { return nil }
        self.label = label
    }

    func begin() { started = now() }

    func tick() {
        let elapsed = now() - started
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

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
