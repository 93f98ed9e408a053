import CSupport
import Glibc

/// An open file descriptor. A value type: whoever owns it closes it once.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)

    public var description: String { "fd \(rawValue)" }

    /// Closes the descriptor. Never retried: after EINTR the descriptor is already gone on Linux.
    /// `close(2)`
    public func close() {
        _ = Glibc.close(rawValue)
    }

    /// Opens a path, always close-on-exec. `open(2)`
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(SystemError) -> FileDescriptor {
        let fd = try syscall("open") { Glibc.open(path, flags | O_CLOEXEC, mode) }
        return FileDescriptor(rawValue: fd)
    }

    /// Reads up to `count` bytes; an empty array means end of file. `read(2)`
    public func read(upTo count: Int = 65536) throws(SystemError) -> IOResult<[UInt8]> {
        var buffer = [UInt8](repeating: 0, count: count)
        let result = try nonBlockingSyscall("read") {
            buffer.withUnsafeMutableBytes { Glibc.read(rawValue, $0.baseAddress, count) }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .done(let n):
            buffer.removeSubrange(n...)
            return .done(buffer)
        }
    }

    /// Writes what the kernel takes now; returns how many bytes. `write(2)`
    public func write(_ bytes: ArraySlice<UInt8>) throws(SystemError) -> IOResult<Int> {
        try nonBlockingSyscall("write") {
            bytes.withUnsafeBytes { Glibc.write(rawValue, $0.baseAddress, $0.count) }
        }
    }

    /// Writes everything, blocking as needed (for blocking descriptors only).
    public func writeAll(_ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            switch try write(bytes[offset...]) {
            case .done(let n): offset += n
            case .wouldBlock: _ = try? poll(events: Int16(POLLOUT), timeoutMilliseconds: -1)
            }
        }
    }

    /// Reads until end of file, or until `limit` bytes (blocking descriptors only).
    public func readAll(limit: Int = .max) throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        while result.count < limit {
            switch try read(upTo: min(65536, limit - result.count)) {
            case .done(let chunk):
                if chunk.isEmpty { return result }
                result += chunk
            case .wouldBlock:
                _ = try? poll(events: Int16(POLLIN), timeoutMilliseconds: -1)
            }
        }
        return result
    }

    /// Waits for readiness on this one descriptor; false on timeout. `poll(2)`
    public func poll(events: Int16, timeoutMilliseconds: Int32) throws(SystemError) -> Bool {
        var pfd = pollfd(fd: rawValue, events: events, revents: 0)
        let n = try syscall("poll") { Glibc.poll(&pfd, 1, timeoutMilliseconds) }
        return n > 0
    }

    /// Sets or clears O_NONBLOCK. `fcntl(2)`
    public func setNonBlocking(_ on: Bool = true) throws(SystemError) {
        let flags = try syscall("fcntl") { fcntl(rawValue, F_GETFL) }
        let wanted = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        try syscall("fcntl") { fcntl(rawValue, F_SETFL, wanted) }
    }

    /// Sets or clears FD_CLOEXEC (cleared only for a descriptor a child must inherit). `fcntl(2)`
    public func setCloseOnExec(_ on: Bool) throws(SystemError) {
        let flags = try syscall("fcntl") { fcntl(rawValue, F_GETFD) }
        let wanted = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC
        try syscall("fcntl") { fcntl(rawValue, F_SETFD, wanted) }
    }

    /// True when the descriptor refers to a terminal. `isatty(3)`
    public var isTerminal: Bool { isatty(rawValue) == 1 }

    /// A close-on-exec pipe: (read end, write end). `pipe2(2)`
    public static func pipe() throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [Int32] = [0, 0]
        try syscall("pipe2") { fds.withUnsafeMutableBufferPointer { cs_pipe2($0.baseAddress, O_CLOEXEC) } }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }
}
