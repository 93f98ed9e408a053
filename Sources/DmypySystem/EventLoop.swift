import Glibc

/// A single-threaded reactor over epoll. Nothing polls: every wake-up is a descriptor event
/// (sockets, pipes, signalfd, timerfd, inotify).
///
/// Each registration carries a generation number in its epoll token, so when a descriptor is
/// closed and its number reused, an event still queued for the old registration is dropped instead
/// of reaching the new handler (guarded by `EventLoopTests.reusedDescriptorDropsStaleEvent`).
public final class EventLoop {
    public typealias Handler = (Epoll.Events) -> Void

    /// A live registration; pass it back to update or remove it.
    public struct Registration: Hashable, Sendable {
        public let fd: FileDescriptor
        let generation: UInt32
        var token: UInt64 { UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd.rawValue)) }
    }

    private let epoll: FileDescriptor
    private var handlers: [Int32: (generation: UInt32, handler: Handler)] = [:]
    private var nextGeneration: UInt32 = 1
    private var deferred: [() -> Void] = []
    private var stopRequested = false

    public init() throws(SystemError) {
        epoll = try Epoll.create()
    }

    deinit { epoll.close() }

    /// Starts delivering `events` on `fd` to `handler`.
    @discardableResult
    public func register(_ fd: FileDescriptor, _ events: Epoll.Events, handler: @escaping Handler) throws(SystemError) -> Registration {
        let registration = Registration(fd: fd, generation: nextGeneration)
        nextGeneration &+= 1
        if nextGeneration == 0 { nextGeneration = 1 }
        try Epoll.add(epoll, fd, events: events, token: registration.token)
        handlers[fd.rawValue] = (registration.generation, handler)
        return registration
    }

    /// Changes the events a registration waits for.
    public func update(_ registration: Registration, _ events: Epoll.Events) {
        guard handlers[registration.fd.rawValue]?.generation == registration.generation else { return }
        try? Epoll.modify(epoll, registration.fd, events: events, token: registration.token)
    }

    /// Stops delivering events; call before closing the descriptor.
    public func deregister(_ registration: Registration) {
        guard handlers[registration.fd.rawValue]?.generation == registration.generation else { return }
        handlers[registration.fd.rawValue] = nil
        try? Epoll.delete(epoll, registration.fd)
    }

    /// Runs `work` after the events of the current iteration have been handled.
    public func afterEvents(_ work: @escaping () -> Void) {
        deferred.append(work)
    }

    /// Handles events until `stop()` (at once, if `stop()` came before `run()`: a daemon that fails
    /// while setting up stops before its loop starts).
    public func run() throws(SystemError) {
        while !stopRequested {
            try runOnce(timeoutMilliseconds: deferred.isEmpty ? -1 : 0)
        }
    }

    /// Waits once (at most `timeoutMilliseconds`; -1 forever) and handles what arrived.
    public func runOnce(timeoutMilliseconds: Int32) throws(SystemError) {
        let events = try Epoll.wait(epoll, timeoutMilliseconds: timeoutMilliseconds)
        for (token, mask) in events {
            dispatch(token: token, events: mask)
        }
        while !deferred.isEmpty {
            let work = deferred
            deferred.removeAll()
            work.forEach { $0() }
        }
    }

    /// Delivers one event to the registration its token names, if that registration still exists.
    func dispatch(token: UInt64, events: Epoll.Events) {
        let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
        let generation = UInt32(truncatingIfNeeded: token >> 32)
        guard let entry = handlers[fd], entry.generation == generation else { return }
        entry.handler(events)
    }

    public func stop() { stopRequested = true }
}

/// A one-shot or repeating timer on its own timerfd, delivered through the loop.
public final class LoopTimer {
    private let loop: EventLoop
    private let fd: FileDescriptor
    private var registration: EventLoop.Registration?
    private var action: () -> Void

    public init(loop: EventLoop, action: @escaping () -> Void) throws(SystemError) {
        self.loop = loop
        self.action = action
        fd = try TimerFD.create()
        registration = try loop.register(fd, .input) { [weak self] _ in self?.fire() }
    }

    deinit { close() }

    /// Fires once after `seconds`, then every `interval` seconds if given; replaces any earlier schedule.
    public func schedule(after seconds: Double, interval: Double = 0) {
        try? TimerFD.arm(fd, after: max(seconds, 0.000_001), interval: interval)
    }

    public func cancel() {
        try? TimerFD.arm(fd, after: 0)
        _ = try? TimerFD.acknowledge(fd)
    }

    public func close() {
        guard let registration else { return }
        loop.deregister(registration)
        fd.close()
        self.registration = nil
    }

    private func fire() {
        guard (try? TimerFD.acknowledge(fd)) ?? 0 > 0 else { return }
        action()
    }
}
