/// mypy's IPC framing: each frame is a 4-byte big-endian length, then that many bytes of UTF-8 JSON.
public enum Frame {
    /// The largest frame we accept or send (mypy has no limit; a bogus length must not make us
    /// allocate gigabytes).
    public static let defaultMaximumSize = 64 * 1024 * 1024

    /// Frames a payload.
    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(payload.count)
        return [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + payload
    }

    /// Frames a JSON object.
    public static func encode(_ object: JSONObject) -> [UInt8] {
        encode(JSON.object(object).serializedBytes())
    }
}

/// Why a frame could not be used.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    case tooLarge(size: Int, limit: Int)
    case invalidJSON(JSONParseError)
    case notAnObject

    public var description: String {
        switch self {
        case .tooLarge(let size, let limit): return "Frame of \(size) bytes exceeds the limit of \(limit) bytes"
        case .invalidJSON: return "Data received is not valid JSON"
        case .notAnObject: return "Data received is not a dict"
        }
    }
}

/// Accumulates bytes from a stream and cuts them into frames.
public struct FrameDecoder: Sendable {
    public let maximumSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maximumSize: Int = Frame.defaultMaximumSize) {
        self.maximumSize = maximumSize
    }

    /// Bytes received but not yet returned as a frame.
    public var pendingByteCount: Int { buffer.count - start }

    public mutating func append(_ bytes: [UInt8]) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer += bytes
    }

    /// The next complete frame's payload, nil when more bytes are needed. Throws as soon as a
    /// header announces more than the limit, before any of that payload is buffered.
    public mutating func nextFrame() throws(FrameError) -> [UInt8]? {
        guard buffer.count - start >= 4 else { return nil }
        let size = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard size <= maximumSize else { throw .tooLarge(size: size, limit: maximumSize) }
        guard buffer.count - start - 4 >= size else { return nil }
        let payload = Array(buffer[(start + 4)..<(start + 4 + size)])
        start += 4 + size
        if start > 1 << 20 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        return payload
    }

    /// The next complete frame decoded as a JSON object, as mypy's `receive` requires.
    public mutating func nextObject() throws(FrameError) -> JSONObject? {
        guard let payload = try nextFrame() else { return nil }
        return try FrameDecoder.decodeObject(payload)
    }

    public static func decodeObject(_ payload: [UInt8]) throws(FrameError) -> JSONObject {
        let value: JSON
        do {
            value = try JSONParser.parse(payload)
        } catch {
            throw .invalidJSON(error)
        }
        guard case .object(let object) = value else { throw .notAnObject }
        return object
    }
}
