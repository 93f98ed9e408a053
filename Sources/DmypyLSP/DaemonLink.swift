import DmypyClient
import DmypySystem
import DmypyWire

/// A subscription to a folder's build, read on the server's loop: the daemon pushes each result.
final class SubscriptionLink {
    var onEvent: (SubscriptionEvent) -> Void = { _ in }
    var onClose: () -> Void = {}
    private let loop: EventLoop
    private let fd: FileDescriptor
    private var registration: EventLoop.Registration?
    private var decoder = FrameDecoder(maximumSize: Int(UInt32.max))

    init(loop: EventLoop, subscription: BuildSubscription) throws(SystemError) {
        self.loop = loop
        fd = try UnixSocket.connect(path: subscription.connectionName)
        do {
            try UnixSocket.sendAll(fd, Frame.encode(subscription.request))
            try fd.setNonBlocking()
            registration = try loop.register(fd, [.input, .readHangup]) { [weak self] _ in self?.readAvailable() }
        } catch {
            fd.close()
            throw error
        }
    }

    private func readAvailable() {
        while registration != nil {
            switch (try? fd.read()) ?? .done([]) {
            case .wouldBlock:
                return
            case .done(let bytes):
                if bytes.isEmpty {
                    close()
                    onClose()
                    return
                }
                decoder.append(bytes)
                while registration != nil, let frame = try? decoder.nextObject() {
                    if let event = SubscriptionEvent(frame) { onEvent(event) }
                }
            }
        }
    }

    func close() {
        guard let registration else { return }
        loop.deregister(registration)
        self.registration = nil
        fd.close()
    }
}

/// One request to the daemon whose answer arrives on the loop (an overlay, an inspection).
final class DaemonCall {
    private let loop: EventLoop
    private let fd: FileDescriptor
    private var registration: EventLoop.Registration?
    private var decoder = FrameDecoder(maximumSize: Int(UInt32.max))
    private let completion: (JSONObject) -> Void

    private init(loop: EventLoop, fd: FileDescriptor, completion: @escaping (JSONObject) -> Void) {
        self.loop = loop
        self.fd = fd
        self.completion = completion
    }

    /// Sends `request`; `completion` gets the final frame, or `{"error": …}` when the daemon is unreachable.
    static func send(loop: EventLoop, path: String, request: JSONObject, completion: @escaping (JSONObject) -> Void) {
        let fd: FileDescriptor
        do {
            fd = try UnixSocket.connect(path: path)
            try UnixSocket.sendAll(fd, Frame.encode(request))
            try fd.setNonBlocking()
        } catch {
            completion(["error": .string("cannot reach the daemon: \(error)")])
            return
        }
        let call = DaemonCall(loop: loop, fd: fd, completion: completion)
        do {
            // The loop's handler keeps the call alive until it deregisters itself.
            call.registration = try loop.register(fd, [.input, .readHangup]) { _ in call.readAvailable() }
        } catch {
            fd.close()
            completion(["error": .string("cannot wait for the daemon: \(error)")])
            return
        }
    }

    private func readAvailable() {
        while registration != nil {
            switch (try? fd.read()) ?? .done([]) {
            case .wouldBlock:
                return
            case .done(let bytes):
                if bytes.isEmpty { return end(["error": "the daemon closed the connection"]) }
                decoder.append(bytes)
                while registration != nil, let frame = try? decoder.nextObject() {
                    if frame["final"]?.isTruthy == true { return end(frame) }
                }
            }
        }
    }

    private func end(_ frame: JSONObject) {
        guard let registration else { return }
        loop.deregister(registration)
        self.registration = nil
        fd.close()
        completion(frame)
    }
}
