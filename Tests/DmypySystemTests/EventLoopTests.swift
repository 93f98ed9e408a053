import Glibc
import Testing
@testable import DmypySystem

@Suite struct EventLoopTests {
    /// A descriptor closed and reused while an event for it is still queued (in the same
    /// epoll_wait batch) must not deliver that event to the new registration: the generation in
    /// the epoll token guards it.
    @Test func reusedDescriptorDropsStaleEvent() throws {
        let loop = try EventLoop()
        let first = try FileDescriptor.pipe()
        var oldFired = 0
        var newFired = 0
        let old = try loop.register(first.read, .input) { _ in oldFired += 1 }
        let staleToken = old.token
        loop.deregister(old)
        first.read.close()
        first.write.close()
        let second = try FileDescriptor.pipe()
        defer { second.read.close(); second.write.close() }
        #expect(second.read == first.read)   // the kernel reuses the lowest free number
        let new = try loop.register(second.read, .input) { _ in newFired += 1 }
        #expect(new.token != staleToken)
        loop.dispatch(token: staleToken, events: .input)   // the event queued for the old fd
        #expect(oldFired == 0 && newFired == 0)
        loop.dispatch(token: new.token, events: .input)
        #expect(newFired == 1)
    }

    @Test func timerFiresThroughTheLoopWithoutPolling() throws {
        let loop = try EventLoop()
        var fired = 0
        let timer = try LoopTimer(loop: loop) { fired += 1; loop.stop() }
        timer.schedule(after: 0.01)
        try loop.run()
        #expect(fired == 1)
        timer.schedule(after: 10)
        timer.cancel()
        try loop.runOnce(timeoutMilliseconds: 20)
        #expect(fired == 1)
    }

    @Test func signalsArriveAsEvents() throws {
        let loop = try EventLoop()
        let fd = try SignalFD.create(for: [SIGUSR1])
        defer { fd.close(); _ = cs_unblock() }
        var received: [Int32] = []
        _ = try loop.register(fd, .input) { _ in
            while let signal = try? SignalFD.next(fd) { received.append(signal) }
            loop.stop()
        }
        pthread_kill(pthread_self(), SIGUSR1)   // directed at this thread, where it is blocked
        try loop.run()
        #expect(received == [SIGUSR1])
    }

    @Test func stopBeforeRunIsNotLost() throws {
        let loop = try EventLoop()
        loop.stop()
        try loop.run()   // returns at once instead of waiting forever
    }

    @Test func afterEventsRunsDeferredWork() throws {
        let loop = try EventLoop()
        var order: [String] = []
        loop.afterEvents { order.append("deferred") }
        try loop.runOnce(timeoutMilliseconds: 0)
        #expect(order == ["deferred"])
    }
}

func cs_unblock() -> Int32 {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGUSR1)
    return sigprocmask(SIG_UNBLOCK, &set, nil)
}
