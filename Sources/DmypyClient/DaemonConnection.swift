import DmypySystem
import DmypyWire
import Glibc

/// mypy's client-side `request()`: one connection, one request, frames until `"final": true`.
enum DaemonConnection {
    /// Sends `command` with `fields` to the daemon listening at `connectionName` and returns the
    /// final frame. `stdout`/`stderr` frames are printed as they arrive. Connection failures come back as
    /// `{"error": …}` with Python's text for them, as mypy's client returns them.
    static func request(
        connectionName: String, command: String, timeout: Double? = nil, fields: JSONObject,
        context: ClientContext, progress: Progress? = nil
    ) -> JSONObject {
        var request = fields
        request["command"] = .string(command)
        request["is_tty"] = .bool(context.isTTY)
        request["terminal_width"] = .int(context.terminalWidth)
        return exchange(path: connectionName, request: request, timeout: timeout, progress: progress)
    }

    static func exchange(path: String, request: JSONObject, timeout: Double?, progress: Progress?) -> JSONObject {
        let fd: FileDescriptor
        do {
            fd = try UnixSocket.connect(path: path)
        } catch {
            return ["error": .string(pythonOSError(error))]
        }
        defer { fd.close() }
        if let timeout { try? UnixSocket.setTimeout(fd, seconds: timeout) }
        do {
            try UnixSocket.sendAll(fd, Frame.encode(request))
        } catch {
            return ["error": .string(pythonOSError(error))]
        }
        var decoder = FrameDecoder(maximumSize: Int(UInt32.max))
        var response: JSONObject = [:]
        progress?.begin()
        defer { progress?.end() }
        while true {
            do {
                guard let payload = try decoder.nextFrame() else {
                    if let progress, timeout == nil {
                        // Wake up now and then only to show that we are waiting (terminals only).
                        if !(try fd.poll(events: Int16(POLLIN), timeoutMilliseconds: 250)) {
                            progress.tick()
                            continue
                        }
                    }
                    switch try fd.read() {
                    case .wouldBlock:
                        return ["error": "timed out"]
                    case .done(let bytes):
                        if bytes.isEmpty { return ["error": "No data received"] }
                        decoder.append(bytes)
                    }
                    continue
                }
                var frame: JSONObject
                do {
                    frame = try FrameDecoder.decodeObject(payload)
                } catch {
                    if case .notAnObject = error {
                        return ["error": .string("Data received is not a dict (\(pythonTypeName(payload)))")]
                    }
                    return ["error": "Data received is not valid JSON"]
                }
                let final = frame.removeValue(forKey: "final")?.isTruthy ?? false
                if !final, let text = frame[ProtocolExtensions.progress]?.stringValue {
                    progress?.update(text)
                    continue
                }
                if let out = frame.removeValue(forKey: "stdout"), out.isTruthy {
                    progress?.clear()
                    Console.out(PythonRepr.str(out))
                }
                if let err = frame.removeValue(forKey: "stderr"), err.isTruthy {
                    progress?.clear()
                    Console.err(PythonRepr.str(err))
                }
                response = frame
                if final { return response }
            } catch let error as SystemError {
                return ["error": .string(pythonOSError(error))]
            } catch {
                return ["error": .string("\(error)")]
            }
        }
    }

    /// `str(OSError)` as Python prints it: "[Errno 111] Connection refused"; a timeout is "timed out".
    static func pythonOSError(_ error: SystemError) -> String {
        if error.errno == EAGAIN || error.errno == ETIMEDOUT { return "timed out" }
        return "[Errno \(error.errno)] \(error.reason)"
    }

    static func pythonTypeName(_ payload: [UInt8]) -> String {
        switch try? JSONParser.parse(payload) {
        case .array?: return "<class 'list'>"
        case .string?: return "<class 'str'>"
        case .int?: return "<class 'int'>"
        case .double?: return "<class 'float'>"
        case .bool?: return "<class 'bool'>"
        default: return "<class 'NoneType'>"
        }
    }
}
