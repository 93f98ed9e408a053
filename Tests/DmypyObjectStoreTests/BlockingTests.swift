import Foundation
import Testing
import DmypyObjectStore

/// `runBlocking` as a command-line caller uses it: from a plain thread, not from async code.
@Suite struct BlockingTests {
    struct Boom: Error, Equatable {}

    @Test func returnsAndRethrowsOnAPlainThread() async {
        let outcome: (Int?, Bool) = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let value = try? runBlocking { () async throws -> Int in
                    try await Task.sleep(for: .milliseconds(10))
                    return 42
                }
                var threw = false
                do { _ = try runBlocking { () async throws -> Int in throw Boom() } } catch { threw = error is Boom }
                continuation.resume(returning: (value, threw))
            }
        }
        #expect(outcome.0 == 42)
        #expect(outcome.1)
    }
}
