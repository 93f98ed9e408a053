import CSupport
import Glibc

/// signalfd(2): signals delivered as readable events instead of asynchronous handlers.
public enum SignalFD {
    /// Blocks the signals for this thread and returns a non-blocking, close-on-exec signalfd.
    /// Children spawned through `Process.spawn` get a clean signal mask again.
    public static func create(for signals: [Int32]) throws(SystemError) -> FileDescriptor {
        FileDescriptor(rawValue: try syscall("signalfd") { cs_signalfd_for(signals, Int32(signals.count)) })
    }

    /// The next pending signal number, or nil when none is pending. `read(2)` of signalfd_siginfo
    public static func next(_ fd: FileDescriptor) throws(SystemError) -> Int32? {
        let signal = try syscall("read(signalfd)") { cs_signalfd_read(fd.rawValue) }
        return signal == 0 ? nil : signal
    }
}
