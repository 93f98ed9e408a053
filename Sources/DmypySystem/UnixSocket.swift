import CSupport
import Glibc

/// AF_UNIX stream sockets: every descriptor close-on-exec.
public enum UnixSocket {
    /// The credentials the kernel recorded for the peer of a connected socket.
    public struct PeerCredentials: Equatable, Sendable {
        public let pid: pid_t
        public let uid: uid_t
        public let gid: gid_t
    }

    static func make(nonBlocking: Bool) throws(SystemError) -> FileDescriptor {
        var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
        return FileDescriptor(rawValue: try syscall("socket") { socket(AF_UNIX, type, 0) })
    }

    /// A non-blocking listening socket bound to `path`. `socket(2)`, `bind(2)`, `listen(2)`
    public static func listen(path: String, backlog: Int32 = 128) throws(SystemError) -> FileDescriptor {
        let fd = try make(nonBlocking: true)
        do {
            try syscall("bind") { cs_unix_bind(fd.rawValue, path) }
            try syscall("listen") { Glibc.listen(fd.rawValue, backlog) }
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    /// A blocking socket connected to `path`. `connect(2)`
    public static func connect(path: String) throws(SystemError) -> FileDescriptor {
        let fd = try make(nonBlocking: false)
        do {
            try syscall("connect") { cs_unix_connect(fd.rawValue, path) }
        } catch {
            fd.close()
            throw error
        }
        return fd
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec socket. `accept4(2)`
    public static func accept(_ listener: FileDescriptor) throws(SystemError) -> IOResult<FileDescriptor> {
        let flags = Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        switch try nonBlockingSyscall("accept4", { cs_accept4(listener.rawValue, flags) }) {
        case .wouldBlock: return .wouldBlock
        case .done(let fd): return .done(FileDescriptor(rawValue: fd))
        }
    }

    /// `getsockopt(SO_PEERCRED)`
    public static func peerCredentials(_ fd: FileDescriptor) throws(SystemError) -> PeerCredentials {
        var pid: pid_t = 0, uid: uid_t = 0, gid: gid_t = 0
        try syscall("getsockopt(SO_PEERCRED)") { cs_peer_credentials(fd.rawValue, &pid, &uid, &gid) }
        return PeerCredentials(pid: pid, uid: uid, gid: gid)
    }

    /// Sets SO_RCVTIMEO and SO_SNDTIMEO (a blocking client's timeout). `setsockopt(2)`
    public static func setTimeout(_ fd: FileDescriptor, seconds: Double) throws(SystemError) {
        let whole = seconds.rounded(.down)
        var tv = timeval(tv_sec: Int(whole), tv_usec: Int((seconds - whole) * 1_000_000))
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            try syscall("setsockopt") {
                setsockopt(fd.rawValue, SOL_SOCKET, option, &tv, socklen_t(MemoryLayout<timeval>.size))
            }
        }
    }

    /// Sends without raising SIGPIPE when the peer is gone. `send(2)` with MSG_NOSIGNAL
    public static func send(_ fd: FileDescriptor, _ bytes: ArraySlice<UInt8>) throws(SystemError) -> IOResult<Int> {
        try nonBlockingSyscall("send") {
            bytes.withUnsafeBytes { Glibc.send(fd.rawValue, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Sends everything on a blocking socket (honouring its send timeout).
    public static func sendAll(_ fd: FileDescriptor, _ bytes: [UInt8]) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            switch try send(fd, bytes[offset...]) {
            case .done(let n): offset += n
            case .wouldBlock: throw SystemError(call: "send", errno: ETIMEDOUT)
            }
        }
    }
}

extension UnixSocket {
    /// The filesystem path a socket is bound to. `getsockname(2)`
    public static func localPath(_ fd: FileDescriptor) throws(SystemError) -> String {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        try withUnsafeMutablePointer(to: &address) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) in
                _ = try syscall("getsockname") { getsockname(fd.rawValue, raw, &length) }
            }
        }
        return withUnsafeBytes(of: address.sun_path) { raw in
            let bytes = Array(raw.prefix(while: { $0 != 0 }))
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
