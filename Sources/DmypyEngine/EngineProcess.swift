import DmypySystem
import DmypyWire
import Glibc

/// One running engine: the Python adapter hosting mypy, spoken to over two pipes (requests on
/// its fd 3, replies on its fd 4). Its stdout and stderr are a third pipe, read into the daemon's
/// log, so nothing the engine prints can corrupt the channel.
public final class EngineProcess {
    /// What the engine said or did.
    public enum Event {
        /// The reply to `start`: mypy's flags processed and its Server built, or why not.
        case started(JSONObject)
        /// The answer to `options_changed`: whether mypy's options differ from the running ones.
        case options(changed: Bool, reason: String)
        /// Text that mypy printed while running request `id` (`key` is "stdout" or "stderr").
        case output(id: Int, key: String, text: String)
        /// The final reply to request `id`.
        case finished(id: Int, reply: JSONObject)
        /// A line the engine printed to its own stdout/stderr (log material).
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
    private var hasExited = false

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
    }

    deinit {
        terminate()
    }

    /// Sends one message; buffered when the pipe is full.
    public func send(_ message: JSONObject) {
        guard !hasExited else { return }
        pendingWrite += Frame.encode(message)
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
                    finish()
                    return
                }
                decoder.append(bytes)
                do {
                    while !hasExited, let message = try decoder.nextObject() {
                        dispatch(message)
                    }
                    if hasExited { return }   // a handler stopped the engine
                } catch {
                    onEvent(.logLine("engine sent a malformed frame (\(error)); restarting it"))
                    finish()
                    return
                }
            }
        }
    }

    private func dispatch(_ message: JSONObject) {
        switch message["op"]?.stringValue {
        case "started":
            onEvent(.started(message))
            return
        case "options":
            onEvent(.options(changed: message["changed"]?.boolValue ?? true, reason: message["reason"]?.stringValue ?? ""))
            return
        default:
            break
        }
        guard let id = message["id"]?.intValue else {
            onEvent(.logLine("engine sent an unexpected message: \(JSON.object(message).serialized())"))
            return
        }
        if message["final"]?.boolValue == true {
            onEvent(.finished(id: id, reply: message))
        } else if let text = message["stdout"]?.stringValue {
            onEvent(.output(id: id, key: "stdout", text: text))
        } else if let text = message["stderr"]?.stringValue {
            onEvent(.output(id: id, key: "stderr", text: text))
        }
    }

    private func readOutput() {
        while !hasExited || outputRegistration != nil {
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

    /// The reply channel closed: the engine exited (or broke its protocol). Reaps it and reports.
    private func finish() {
        guard !hasExited else { return }
        hasExited = true
        readOutput()
        for registration in [replyRegistration, requestRegistration, outputRegistration].compactMap({ $0 }) {
            loop.deregister(registration)
        }
        replyRegistration = nil
        requestRegistration = nil
        outputRegistration = nil
        try? Process.signal(pid, SIGKILL)
        let termination = Process.wait(pid)
        requestPipe.close()
        replyPipe.close()
        outputPipe.close()
        onEvent(.exited(termination, tail: String(decoding: tail, as: UTF8.self)))
    }

    /// Stops the engine now (SIGKILL: its state is only a cache) and reaps it, without an event.
    public func terminate() {
        guard !hasExited else { return }
        onEvent = { _ in }
        finish()
    }

    public var isRunning: Bool { !hasExited }
}
