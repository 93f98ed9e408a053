import CSupport
import Glibc

/// epoll(7), with each registration carrying a 64-bit token chosen by the caller.
public enum Epoll {
    public struct Events: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let input = Events(rawValue: EPOLLIN.rawValue)
        public static let output = Events(rawValue: EPOLLOUT.rawValue)
        public static let readHangup = Events(rawValue: EPOLLRDHUP.rawValue)
        public static let hangup = Events(rawValue: EPOLLHUP.rawValue)
        public static let error = Events(rawValue: EPOLLERR.rawValue)
    }

    /// `epoll_create1(EPOLL_CLOEXEC)`
    public static func create() throws(SystemError) -> FileDescriptor {
        FileDescriptor(rawValue: try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) })
    }

    /// `epoll_ctl(EPOLL_CTL_ADD)`
    public static func add(_ epoll: FileDescriptor, _ fd: FileDescriptor, events: Events, token: UInt64) throws(SystemError) {
        try syscall("epoll_ctl") { cs_epoll_ctl(epoll.rawValue, EPOLL_CTL_ADD, fd.rawValue, events.rawValue, token) }
    }

    /// `epoll_ctl(EPOLL_CTL_MOD)`
    public static func modify(_ epoll: FileDescriptor, _ fd: FileDescriptor, events: Events, token: UInt64) throws(SystemError) {
        try syscall("epoll_ctl") { cs_epoll_ctl(epoll.rawValue, EPOLL_CTL_MOD, fd.rawValue, events.rawValue, token) }
    }

    /// `epoll_ctl(EPOLL_CTL_DEL)`
    public static func delete(_ epoll: FileDescriptor, _ fd: FileDescriptor) throws(SystemError) {
        try syscall("epoll_ctl") { cs_epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, fd.rawValue, 0, 0) }
    }

    /// Waits for events; -1 waits forever. `epoll_wait(2)`
    public static func wait(_ epoll: FileDescriptor, timeoutMilliseconds: Int32) throws(SystemError) -> [(token: UInt64, events: Events)] {
        var tokens = [UInt64](repeating: 0, count: 64)
        var events = [UInt32](repeating: 0, count: 64)
        let n = try syscall("epoll_wait") {
            cs_epoll_wait(epoll.rawValue, &tokens, &events, 64, timeoutMilliseconds)
        }
        return (0..<Int(n)).map { (tokens[$0], Events(rawValue: events[$0])) }
    }
}
