import CSupport
import Glibc
import Testing
@testable import DmypySystem

/// libsystemd is opened on first use; these drive the real library against a real socket.
@Suite(.serialized) struct SystemdNotifyTests {
    /// A datagram socket standing where systemd's notification socket would be.
    private static func notifySocket(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError(call: "socket", errno: errno) }
        let status = cs_unix_bind(fd, path)
        guard status == 0 else { close(fd); throw SystemError(call: "bind", errno: errno) }
        return fd
    }

    @Test func notifyReachesTheNotificationSocketAndIsFalseWithoutOne() throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "dmypy-test-")
        let path = "\(directory)/notify"
        let fd = try Self.notifySocket(at: path)
        defer { close(fd); FileSystem.remove(path); FileSystem.removeDirectory(directory) }

        setenv("NOTIFY_SOCKET", path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        #expect(Systemd.notify("STATUS=checking"))
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        #expect(n > 0 && String(decoding: buffer[..<max(n, 0)], as: UTF8.self) == "STATUS=checking")

        unsetenv("NOTIFY_SOCKET")
        #expect(!Systemd.notify("STATUS=unheard"))
    }

    @Test func noPassedDescriptorsWithoutSocketActivation() {
        unsetenv("LISTEN_FDS")
        unsetenv("LISTEN_PID")
        #expect(Systemd.listenFDs().isEmpty)
        #expect(Systemd.watchdogInterval() == nil)
    }
}
