import DmypySystem
import Glibc
import Testing

@Suite struct ProcessTests {
    /// A spawned child's arguments come back as given, empty and spaced ones included.
    @Test func commandLineOfAChild() throws {
        let null = try FileDescriptor.open("/dev/null", O_RDWR)
        defer { null.close() }
        let child = try Process.spawn("/bin/sleep", arguments: ["sleep", "30", "", "a b"],
                                      descriptors: [0: null, 1: null, 2: null])
        defer {
            _ = try? Process.signal(child, SIGKILL)
            _ = Process.wait(child)
        }
        #expect(Process.commandLine(child) == ["sleep", "30", "", "a b"])
    }

    @Test func commandLineOfNoProcess() throws {
        let null = try FileDescriptor.open("/dev/null", O_RDWR)
        defer { null.close() }
        let child = try Process.spawn("/bin/true", arguments: ["true"], descriptors: [0: null, 1: null, 2: null])
        _ = Process.wait(child)
        #expect(Process.commandLine(child) == nil)
    }
}
