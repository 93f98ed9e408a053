import DmypySystem
import DmypyWire
import Glibc

/// One client connection, mypy's protocol: the client sends one request frame; we may send
/// `stdout`/`stderr` frames, then one frame with `"final": true`, and close.
final class ClientConnection {
    enum State {
        case awaitingRequest
        case handling
        case closingAfterFlush
        case closed
    }

    /// The longest a client may take to send its request (a silent client is dropped, and blocks
    /// nobody meanwhile: nothing here waits for it).
    static let requestDeadline = 30.0

    let id: Int
    let fd: FileDescriptor
    private(set) var state: State = .awaitingRequest
    var onRequest: (ClientConnection, JSONObject) -> Void = { _, _ in }
    var onBadRequest: (ClientConnection, FrameError) -> Void = { _, _ in }
    var onClose: (ClientConnection) -> Void = { _ in }

    private let loop: EventLoop
    private var registration: EventLoop.Registration?
    private var decoder: FrameDecoder
    private var outgoing: [UInt8] = []
    private var deadline: LoopTimer?

    init(id: Int, fd: FileDescriptor, loop: EventLoop, maximumFrameSize: Int) throws(SystemError) {
        self.id = id
        self.fd = fd
        self.loop = loop
        decoder = FrameDecoder(maximumSize: maximumFrameSize)
        registration = try loop.register(fd, [.input, .readHangup]) { [weak self] events in self?.handle(events) }
        deadline = try LoopTimer(loop: loop) { [weak self] in
            guard let self, self.state == .awaitingRequest else { return }
            self.close()
        }
        deadline?.schedule(after: ClientConnection.requestDeadline)
    }

    private func handle(_ events: Epoll.Events) {
        if events.contains(.output) { flush() }
        if events.contains(.input) || events.contains(.readHangup) || events.contains(.hangup) || events.contains(.error) { readAvailable() }
    }

    private func readAvailable() {
        while state != .closed {
            switch (try? fd.read()) ?? .done([]) {
            case .wouldBlock:
                return
            case .done(let bytes):
                if bytes.isEmpty {
                    // The client hung up. What it asked for goes on for the others.
                    close()
                    return
                }
                guard state == .awaitingRequest else { continue }   // one request per connection
                decoder.append(bytes)
                do {
                    if let request = try decoder.nextObject() {
                        state = .handling
                        deadline?.close()
                        deadline = nil
                        onRequest(self, request)
                    }
                } catch {
                    state = .handling
                    deadline?.close()
                    deadline = nil
                    onBadRequest(self, error)
                }
            }
        }
    }

    /// Sends an intermediate frame (`stdout`/`stderr` text).
    func send(_ object: JSONObject) {
        guard state == .handling || state == .awaitingRequest else { return }
        outgoing += Frame.encode(object)
        flush()
    }

    /// Sends the final frame and closes once it is written.
    func finish(_ object: JSONObject) {
        guard state != .closed && state != .closingAfterFlush else { return }
        var final = object
        final["final"] = .bool(true)
        outgoing += Frame.encode(final)
        state = .closingAfterFlush
        flush()
    }

    private func flush() {
        while !outgoing.isEmpty {
            switch (try? UnixSocket.send(fd, outgoing[...])) ?? .done(-1) {
            case .done(let n) where n > 0:
                outgoing.removeFirst(n)
            case .wouldBlock:
                if let registration { loop.update(registration, [.input, .readHangup, .output]) }
                return
            default:
                close()   // the client is gone
                return
            }
        }
        if state == .closingAfterFlush {
            close()
        } else if let registration {
            loop.update(registration, [.input, .readHangup])
        }
    }

    func close() {
        guard state != .closed else { return }
        state = .closed
        deadline?.close()
        deadline = nil
        if let registration { loop.deregister(registration) }
        registration = nil
        fd.close()
        onClose(self)
    }

    var isOpen: Bool { state != .closed }
}
