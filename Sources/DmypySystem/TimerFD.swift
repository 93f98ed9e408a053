import CSupport
import Glibc

/// timerfd(2) on CLOCK_MONOTONIC: timers as readable events, so the loop never polls.
public enum TimerFD {
    /// `timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)`
    public static func create() throws(SystemError) -> FileDescriptor {
        FileDescriptor(rawValue: try syscall("timerfd_create") {
            timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK | TFD_CLOEXEC))
        })
    }

    /// Arms the timer to fire once after `seconds` (and then every `interval` seconds, if given);
    /// zero disarms it. `timerfd_settime(2)`
    public static func arm(_ fd: FileDescriptor, after seconds: Double, interval: Double = 0) throws(SystemError) {
        func spec(_ s: Double) -> timespec {
            let whole = s.rounded(.down)
            return timespec(tv_sec: Int(whole), tv_nsec: Int((s - whole) * 1_000_000_000))
        }
        var value = itimerspec(it_interval: spec(interval), it_value: spec(seconds))
        if seconds > 0 && value.it_value.tv_sec == 0 && value.it_value.tv_nsec == 0 {
            value.it_value.tv_nsec = 1
        }
        try syscall("timerfd_settime") { timerfd_settime(fd.rawValue, 0, &value, nil) }
    }

    /// Consumes the expiration count (0 when it has not fired). `read(2)`
    public static func acknowledge(_ fd: FileDescriptor) throws(SystemError) -> UInt64 {
        var count: UInt64 = 0
        let result = try nonBlockingSyscall("read(timerfd)") {
            withUnsafeMutableBytes(of: &count) { Glibc.read(fd.rawValue, $0.baseAddress, 8) }
        }
        if case .wouldBlock = result { return 0 }
        return count
    }
}
