import DmypyClient
import DmypySystem
import DmypyWire

/// One connection to the daemon read on the server's loop: a request sent, then every frame the
/// daemon sends delivered as it arrives, until the daemon closes it (or sends a malformed frame).
final class DaemonStream {
    private let loop: EventLoop
    private let fd: FileDescriptor
    private var registration: EventLoop.Registration?
    private var decoder = FrameDecoder(maximumSize: Int(UInt32.max))
    /// Each frame; return false to stop reading (the stream is then closed).
    private let onFrame: (JSONObject) -> Bool
    private let onClose: () -> Void

    init(loop: EventLoop, path: String, request: JSONObject, onFrame: @escaping (JSONObject) -> Bool,
         onClose: @escaping () -> Void) throws(SystemError) {
        self.loop = loop
        self.onFrame = onFrame
        self.onClose = onClose
        fd = try UnixSocket.connect(path: path)
        do {
            try UnixSocket.sendAll(fd, Frame.encode(request))
            try fd.setNonBlocking()
            // The loop's handler keeps the stream alive until it is closed.
            registration = try loop.register(fd, [.input, .readHangup]) { _ in self.readAvailable() }
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
                guard !bytes.isEmpty else { return finish() }
                decoder.append(bytes)
                while registration != nil {
                    let frame: JSONObject?
                    do { frame = try decoder.nextObject() } catch { return finish() }
                    guard let frame else { break }
                    if !onFrame(frame) { return close() }
                }
            }
        }
    }

    /// The daemon is gone (or broke the protocol): closed, and `onClose` told.
    private func finish() {
        guard registration != nil else { return }
        close()
        onClose()
    }

    /// Stops reading and closes the connection, without telling `onClose`.
    func close() {
        guard let registration else { return }
        loop.deregister(registration)
        self.registration = nil
        fd.close()
    }
}

/// A subscription to a folder's build: the daemon pushes each result.
final class SubscriptionLink {
    var onEvent: (SubscriptionEvent) -> Void = { _ in }
    var onClose: () -> Void = {}
    private var stream: DaemonStream?

    init(loop: EventLoop, subscription: BuildSubscription) throws(SystemError) {
        stream = try DaemonStream(loop: loop, path: subscription.connectionName, request: subscription.request,
                                  onFrame: { [weak self] frame in
                                      if let event = SubscriptionEvent(frame) { self?.onEvent(event) }
                                      return self != nil
                                  }, onClose: { [weak self] in self?.onClose() })
    }

    func close() { stream?.close() }
}

/// One request to the daemon whose answer arrives on the loop (an overlay, an inspection).
enum DaemonCall {
    /// Sends `request`; `completion` gets the final frame, or `{"error": …}` when the daemon is unreachable.
    static func send(loop: EventLoop, path: String, request: JSONObject, completion: @escaping (JSONObject) -> Void) {
        var answered = false
        do {
            _ = try DaemonStream(loop: loop, path: path, request: request, onFrame: { frame in
                guard frame["final"]?.isTruthy == true else { return true }
                answered = true
                completion(frame)
                return false
            }, onClose: {
                if !answered { completion(["error": "the daemon closed the connection"]) }
            })
        } catch {
            completion(["error": .string("cannot reach the daemon: \(error)")])
        }
    }
}
