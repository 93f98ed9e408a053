import CSupport
import Glibc

/// Learning that a child has ended without waiting for it: its pidfd (readable once it exits) is
/// registered with the loop, and the child is reaped with WNOHANG when it fires. The loop holds
/// the registration until then, so a child is reaped even after whoever started it is gone.
public enum ChildExit {
    /// Calls `handler` on the loop once `pid` has ended and been reaped. `pidfd_open(2)`
    public static func watch(_ pid: pid_t, loop: EventLoop, handler: @escaping (Process.Termination?) -> Void) throws(SystemError) {
        let fd = FileDescriptor(rawValue: try syscall("pidfd_open") { cs_pidfd_open(pid) })
        let watch = Watch(pid: pid, fd: fd, handler: handler)
        do {
            watch.registration = try loop.register(fd, .input) { [watch] _ in watch.fired(loop) }
        } catch {
            fd.close()
            throw error
        }
    }

    private final class Watch {
        let pid: pid_t
        let fd: FileDescriptor
        let handler: (Process.Termination?) -> Void
        var registration: EventLoop.Registration?

        init(pid: pid_t, fd: FileDescriptor, handler: @escaping (Process.Termination?) -> Void) {
            self.pid = pid
            self.fd = fd
            self.handler = handler
        }

        func fired(_ loop: EventLoop) {
            guard let registration else { return }
            let termination = Process.reap(pid)
            // A pidfd is readable only once the process is gone; a reap that finds nothing means
            // someone else reaped it (nothing to report but that it ended).
            self.registration = nil
            loop.deregister(registration)
            fd.close()
            handler(termination)
        }
    }
}

/// A short-lived child whose standard output is collected on the loop (at most `limit` bytes; the
/// rest is read and dropped), reported once it has exited and its output is closed.
public final class CapturedProcess {
    public let pid: pid_t
    private let loop: EventLoop
    private let output: FileDescriptor
    private var registration: EventLoop.Registration?
    private var bytes: [UInt8] = []
    private let limit: Int
    private var termination: Process.Termination??
    private var outputClosed = false
    private var onEnd: ((Process.Termination?, [UInt8]) -> Void)?

    /// Starts `executable` with `arguments` (argv[0] not included); stdin and stderr are /dev/null.
    public init(_ executable: String, _ arguments: [String], environment: [String], directory: String, loop: EventLoop,
                limit: Int = 64 * 1024, onEnd: @escaping (Process.Termination?, [UInt8]) -> Void) throws(SystemError) {
        self.loop = loop
        self.limit = limit
        self.onEnd = onEnd
        (pid, output) = try Process.spawnWithOutputPipe(executable, arguments, environment: environment, directory: directory)
        do {
            try output.setNonBlocking()
            registration = try loop.register(output, .input) { [weak self] _ in self?.readOutput() }
            try ChildExit.watch(pid, loop: loop) { [weak self] termination in self?.exited(termination) }
        } catch {
            try? Process.signal(pid, SIGKILL)
            _ = Process.wait(pid)
            if let registration { loop.deregister(registration) }
            output.close()
            throw error
        }
    }

    deinit { cancel() }

    /// Lets the child run on unwatched (its output is no longer read; it is still reaped through
    /// the loop while the loop runs).
    public func detach() {
        onEnd = nil
        termination = .some(nil)
        closeOutput()
    }

    /// Kills the child; nothing is reported (it is still reaped through the loop).
    public func cancel() {
        onEnd = nil
        if termination == nil { try? Process.signal(pid, SIGKILL) }
        closeOutput()
    }

    private func readOutput() {
        while true {
            switch (try? output.read()) ?? .done([]) {
            case .wouldBlock:
                return
            case .done(let chunk):
                if chunk.isEmpty {
                    closeOutput()
                    finishIfDone()
                    return
                }
                bytes += chunk.prefix(max(0, limit - bytes.count))
            }
        }
    }

    private func closeOutput() {
        guard !outputClosed else { return }
        outputClosed = true
        if let registration { loop.deregister(registration) }
        registration = nil
        output.close()
    }

    private func exited(_ termination: Process.Termination?) {
        self.termination = .some(termination)
        // A grandchild may still hold the pipe open: the child's exit ends it all the same.
        if !outputClosed { readOutput() }
        closeOutput()
        finishIfDone()
    }

    private func finishIfDone() {
        guard outputClosed, let termination, let onEnd else { return }
        self.onEnd = nil
        onEnd(termination, bytes)
    }
}
