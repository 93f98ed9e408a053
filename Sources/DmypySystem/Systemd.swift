import CSupport
import Glibc

/// libsystemd's daemon and journal interfaces. Each is a no-op without systemd, so the same binary
/// runs anywhere.
public enum Systemd {
    /// The first descriptor systemd passes (SD_LISTEN_FDS_START).
    public static let listenFDsStart: Int32 = 3

    /// Descriptors passed by socket activation (empty when not socket-activated). `sd_listen_fds(3)`
    public static func listenFDs() -> [FileDescriptor] {
        let n = cs_sd_listen_fds(1)
        guard n > 0 else { return [] }
        return (0..<n).map { FileDescriptor(rawValue: listenFDsStart + $0) }
    }

    /// Sends a state string such as "READY=1" to the service manager; false when there is none.
    /// `sd_notify(3)`
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        cs_sd_notify(0, state) > 0
    }

    /// The watchdog interval systemd asks for, in seconds, or nil. `sd_watchdog_enabled(3)`
    public static func watchdogInterval() -> Double? {
        var usec: UInt64 = 0
        guard cs_sd_watchdog_enabled(0, &usec) > 0 else { return nil }
        return Double(usec) / 1_000_000
    }

    /// True when our stderr is connected to the journal (systemd sets JOURNAL_STREAM to its
    /// device:inode), as sd_journal_stream_fd's documentation recommends checking.
    public static func stderrIsJournal() -> Bool {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        let parts = String(cString: value).split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }

    /// Sends one structured entry, fields as "KEY=value". `sd_journal_sendv(3)`
    @discardableResult
    public static func journalSend(_ fields: [String]) -> Bool {
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        for field in fields {
            let start = bytes.count
            bytes += field.utf8
            ranges.append(start..<bytes.count)
        }
        return bytes.withUnsafeMutableBytes { raw -> Bool in
            let iovecs = ranges.map { iovec(iov_base: raw.baseAddress! + $0.lowerBound, iov_len: $0.count) }
            return cs_sd_journal_sendv(iovecs, Int32(iovecs.count)) >= 0
        }
    }
}
