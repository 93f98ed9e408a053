import Glibc
import Testing
@testable import DmypySystem

@Suite struct SocketTests {
    @Test func peerCredentialsNameOurOwnUser() throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "dmypy-test-")
        defer { FileSystem.remove("\(directory)/s"); FileSystem.removeDirectory(directory) }
        let listener = try UnixSocket.listen(path: "\(directory)/s")
        defer { listener.close() }
        let client = try UnixSocket.connect(path: "\(directory)/s")
        defer { client.close() }
        guard case .done(let server) = try UnixSocket.accept(listener) else {
            Issue.record("no pending connection")
            return
        }
        defer { server.close() }
        let peer = try UnixSocket.peerCredentials(server)
        #expect(peer.uid == getuid())
        #expect(peer.pid == getpid())
        #expect(try UnixSocket.localPath(listener) == "\(directory)/s")
        // Every descriptor we make is close-on-exec.
        for fd in [listener, client, server] {
            #expect(fcntl(fd.rawValue, F_GETFD) & FD_CLOEXEC != 0)
        }
    }

    @Test func connectToMissingSocketIsAnErrorValue() {
        #expect(throws: SystemError(call: "connect", errno: ENOENT)) {
            try UnixSocket.connect(path: "/nonexistent/dmypy.sock")
        }
    }

    @Test func atomicWriteReplacesWholeFile() throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "dmypy-test-")
        defer { FileSystem.remove("\(directory)/f"); FileSystem.removeDirectory(directory) }
        try FileSystem.writeAtomically("\(directory)/f", Array("old".utf8))
        try FileSystem.writeAtomically("\(directory)/f", Array("new content".utf8))
        #expect(FileSystem.read("\(directory)/f") == Array("new content".utf8))
        #expect(DirectoryListing.entries(directory)?.map(\.name) == ["f"])
    }

    @Test func atomicWriteIntoReadOnlyPlaceFailsCleanly() {
        #expect(throws: SystemError.self) { try FileSystem.writeAtomically("/proc/dmypy-status.json", [1]) }
    }
}
