import Foundation
import Testing

/// On a terminal, a request that takes more than a second says what the daemon is doing, and
/// erases it; on a pipe nothing extra is printed (the compatibility suites compare those bytes).
@Suite(.serialized) struct ProgressTests {
    @Test func aLongFirstCheckSaysWhatItDoesOnATerminal() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(ConcurrencyAndSignalTests.chainProject(modules: 400))
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir).status == 0)
        // script(1) gives the client a terminal and copies what it wrote to its stdout.
        let result = try Harness.run(executable: "/usr/bin/script",
                                     arguments: ["-qfec", "\(Harness.ours) check m0.py", "/dev/null"],
                                     in: dir, env: Harness.environment(), timeout: 300)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("\r\u{1B}[Kdmypy: checking: first build, mypy reads every module… 1s"), "\(result)")
        #expect(result.stdout.hasSuffix("\r\u{1B}[KSuccess: no issues found in 1 source file\r\n"), "\(result)")
    }
}
