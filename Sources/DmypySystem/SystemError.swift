import CSupport
import Glibc

/// A failed system call: which call, and the errno it left.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32

    public init(call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// The C library's text for the errno, e.g. "No such file or directory".
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String { "\(call): \(reason)" }
}

/// Runs one system call: retries on EINTR, throws the errno with the call's name otherwise.
/// EBADF and EFAULT mean a bug of ours (a closed or bogus descriptor or pointer) and stop the
/// program at once rather than being handled as an I/O failure.
@inline(__always)
@discardableResult
func syscall<T: FixedWidthInteger>(_ name: String, _ body: () -> T) throws(SystemError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let code = cs_errno()
        if code == EINTR { continue }
        precondition(code != EBADF && code != EFAULT, "\(name) failed with \(code == EBADF ? "EBADF" : "EFAULT"): a bug")
        throw SystemError(call: name, errno: code)
    }
}

/// The result of a non-blocking operation.
public enum IOResult<Value> {
    case done(Value)
    case wouldBlock
}

/// Like `syscall`, but reports EAGAIN/EWOULDBLOCK as `.wouldBlock` instead of an error.
@inline(__always)
func nonBlockingSyscall<T: FixedWidthInteger>(_ name: String, _ body: () -> T) throws(SystemError) -> IOResult<T> {
    do {
        return .done(try syscall(name, body))
    } catch {
        if error.errno == EAGAIN || error.errno == EWOULDBLOCK { return .wouldBlock }
        throw error
    }
}
