import DmypyWire

/// LSP's base protocol: each message a `Content-Length: N` header block, a blank line, then N bytes
/// of UTF-8 JSON. Decoding only frames; what a message means is `IncomingMessage`'s to say.
struct MessageFramer {
    /// Larger messages are refused (an editor sends whole buffers, never this much).
    static let maximumSize = 64 * 1024 * 1024

    enum Failure: Error, Equatable {
        case badHeader(String)
        case tooLarge(Int)
    }

    private var buffer: [UInt8] = []

    mutating func append(_ bytes: [UInt8]) { buffer += bytes }

    /// The next complete message body, or nil until more bytes arrive.
    mutating func next() throws(Failure) -> [UInt8]? {
        guard let end = headerEnd() else {
            if buffer.count > 8192 { throw .badHeader("no end of header in 8 KiB") }
            return nil
        }
        let header = String(decoding: buffer[..<end], as: UTF8.self)
        var length: Int?
        for line in header.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { throw .badHeader(String(line)) }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if name == "content-length" {
                guard let n = Int(value), n >= 0 else { throw .badHeader(String(line)) }
                length = n
            }
        }
        guard let length else { throw .badHeader("no Content-Length") }
        guard length <= MessageFramer.maximumSize else { throw .tooLarge(length) }
        let bodyStart = end + 4
        guard buffer.count >= bodyStart + length else { return nil }
        let body = Array(buffer[bodyStart..<bodyStart + length])
        buffer.removeFirst(bodyStart + length)
        return body
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    static func encode(_ message: JSONObject) -> [UInt8] {
        let body = Array(JSON.object(message).serialized().utf8)
        return Array("Content-Length: \(body.count)\r\n\r\n".utf8) + body
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
