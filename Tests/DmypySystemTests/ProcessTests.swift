import DmypySystem
import Glibc
import Testing

@Suite struct ProcessTests {
    /// A spawned child's arguments come back as given, empty and spaced ones included. The child
    /// is `cat` reading a pipe we hold open, so it is still there when asked (a zombie has no
    /// command line).
    @Test func commandLineOfAChild() throws {
        let null = try FileDescriptor.open("/dev/null", O_RDWR)
        defer { null.close() }
        let input = try FileDescriptor.pipe()
        let child: pid_t
        do {
            defer { input.read.close() }
            child = try Process.spawn("cat", arguments: ["cat", "-", "", "a b"], descriptors: [0: input.read, 1: null, 2: null])
        }
        // posix_spawn returns when the kernel releases the parent during execve, a moment before
        // the new program's arguments are in place: until then the command line reads empty.
        var arguments = Process.commandLine(child)
        for _ in 0..<500 where arguments == nil {
            usleep(10_000)
            arguments = Process.commandLine(child)
        }
        input.write.close()
        _ = Process.wait(child)
        #expect(arguments == ["cat", "-", "", "a b"])
    }

    @Test func commandLineOfNoProcess() throws {
        let null = try FileDescriptor.open("/dev/null", O_RDWR)
        defer { null.close() }
        let child = try Process.spawn("/bin/true", arguments: ["true"], descriptors: [0: null, 1: null, 2: null])
        _ = Process.wait(child)
        #expect(Process.commandLine(child) == nil)
    }
}
