import DmypySystem
import DmypyWire
import Glibc

/// One running engine: the Python adapter hosting mypy, spoken to over two pipes (requests on
/// its fd 3, replies on its fd 4). Its stdout and stderr are a third pipe, read into the daemon's
/// log, so nothing the engine prints can corrupt the channel.
public final class EngineProcess {
    /// What the engine said or did.
    public enum Event {
        /// A frame from the engine, decoded.
        case reply(EngineReply)
        /// A line the engine printed to its own stdout/stderr (mypy's own log output, a plugin's prints).
        case logLine(String)
        /// The engine is gone: how it ended, and the tail of what it printed.
        case exited(Process.Termination?, tail: String)
    }

    public let pid: pid_t
    public var onEvent: (Event) -> Void = { _ in }

    private let loop: EventLoop
    private let requestPipe: FileDescriptor
    private let replyPipe: FileDescriptor
    private let outputPipe: FileDescriptor
    private var replyRegistration: EventLoop.Registration?
    private var requestRegistration: EventLoop.Registration?
    private var outputRegistration: EventLoop.Registration?
    private var decoder = FrameDecoder()
    private var pendingWrite: [UInt8] = []
    private var pendingLine: [UInt8] = []
    private var tail: [UInt8] = []
    /// The channel is closed (the engine exited, broke its protocol, or was stopped).
    private var channelClosed = false
    /// How the process ended, once it has been reaped.
    private var termination: Process.Termination??
    private var reportedExit = false

    /// Spawns the adapter under `python` in `directory` with `environment`.
    public init(loop: EventLoop, python: String, adapterPath: String, directory: String, environment: [String]) throws(SystemError) {
        self.loop = loop
        let requests = try FileDescriptor.pipe()
        let replies = try FileDescriptor.pipe()
        let output = try FileDescriptor.pipe()
        let devnull = try FileDescriptor.open("/dev/null", O_RDONLY)
        defer {
            devnull.close()
            requests.read.close()
            replies.write.close()
            output.write.close()
        }
        do {
            pid = try Process.spawn(
                python,
                arguments: [python, "-u", adapterPath],
                environment: environment,
                directory: directory,
                descriptors: [0: devnull, 1: output.write, 2: output.write, 3: requests.read, 4: replies.write]
            )
        } catch {
            requests.write.close()
            replies.read.close()
            output.read.close()
            throw error
        }
        requestPipe = requests.write
        replyPipe = replies.read
        outputPipe = output.read
        try requestPipe.setNonBlocking()
        try replyPipe.setNonBlocking()
        try outputPipe.setNonBlocking()
        replyRegistration = try loop.register(replyPipe, .input) { [weak self] _ in self?.readReplies() }
        outputRegistration = try loop.register(outputPipe, .input) { [weak self] _ in self?.readOutput() }
        // Reaped through the loop whenever it ends, even after this object is gone.
        try ChildExit.watch(pid, loop: loop) { [weak self] termination in self?.childExited(termination) }
    }

    deinit {
        terminate()
    }

    /// Sends one message; buffered when the pipe is full.
    public func send(_ request: EngineRequest) {
        guard !channelClosed else { return }
        pendingWrite += Frame.encode(request.json)
        flush()
    }

    private func flush() {
        while !pendingWrite.isEmpty {
            switch (try? requestPipe.write(pendingWrite[...])) ?? .done(-1) {
            case .done(let n) where n > 0:
                pendingWrite.removeFirst(n)
            case .wouldBlock:
                if requestRegistration == nil {
                    requestRegistration = try? loop.register(requestPipe, .output) { [weak self] _ in self?.flush() }
                }
                return
            default:
                pendingWrite.removeAll()   // the engine is gone; its exit is reported by readReplies
            }
        }
        if let registration = requestRegistration {
            loop.deregister(registration)
            requestRegistration = nil
        }
    }

    private func readReplies() {
        while true {
            switch (try? replyPipe.read()) ?? .done([]) {
            case .wouldBlock:
                return
            case .done(let bytes):
                if bytes.isEmpty {
                    closeChannel()
                    return
                }
                decoder.append(bytes)
                do {
                    while !channelClosed, let message = try decoder.nextObject() {
                        dispatch(message)
                    }
                    if channelClosed { return }   // a handler stopped the engine
                } catch {
                    onEvent(.logLine("dmypy: the engine sent a malformed frame (\(error)); restarting it"))
                    closeChannel()
                    return
                }
            }
        }
    }

    private func dispatch(_ message: JSONObject) {
        guard let reply = EngineReply(message) else {
            onEvent(.logLine("dmypy: the engine sent an unexpected message: \(JSON.object(message).serialized())"))
            return
        }
        onEvent(.reply(reply))
    }

    private func readOutput() {
        while !channelClosed || outputRegistration != nil {
            switch (try? outputPipe.read()) ?? .done([]) {
            case .wouldBlock:
                return
            case .done(let bytes):
                if bytes.isEmpty {
                    if let registration = outputRegistration {
                        loop.deregister(registration)
                        outputRegistration = nil
                    }
                    return
                }
                tail += bytes
                if tail.count > 64 * 1024 { tail.removeFirst(tail.count - 64 * 1024) }
                pendingLine += bytes
                while let newline = pendingLine.firstIndex(of: 0x0A) {
                    onEvent(.logLine(String(decoding: pendingLine[..<newline], as: UTF8.self)))
                    pendingLine.removeSubrange(...newline)
                }
            }
        }
    }

    /// The channel is done (the reply pipe closed, a malformed frame, or `terminate`): the pipes are
    /// closed and the engine is killed if it still runs; `.exited` follows once it has been reaped.
    private func closeChannel() {
        guard !channelClosed else { return }
        channelClosed = true
        readOutput()
        for registration in [replyRegistration, requestRegistration, outputRegistration].compactMap({ $0 }) {
            loop.deregister(registration)
        }
        replyRegistration = nil
        requestRegistration = nil
        outputRegistration = nil
        // Only a child not yet reaped is signalled: after the reap its pid may be someone else's.
        if termination == nil { try? Process.signal(pid, SIGKILL) }
        requestPipe.close()
        replyPipe.close()
        outputPipe.close()
        reportExitIfDone()
    }

    private func childExited(_ termination: Process.Termination?) {
        self.termination = .some(termination)
        closeChannel()
        reportExitIfDone()
    }

    private func reportExitIfDone() {
        guard channelClosed, let termination, !reportedExit else { return }
        reportedExit = true
        onEvent(.exited(termination, tail: String(decoding: tail, as: UTF8.self)))
    }

    /// Stops the engine now (SIGKILL: its state is only a cache), without an event; it is reaped
    /// through the loop.
    public func terminate() {
        onEvent = { _ in }
        closeChannel()
    }

    public var isRunning: Bool { !channelClosed }
}
