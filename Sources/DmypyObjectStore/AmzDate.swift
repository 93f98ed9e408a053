import Glibc

/// The request time as SigV4 writes it: `20150830T123600Z` (x-amz-date) and its first eight
/// characters (the credential scope's date).
public struct AmzDate: Equatable, Sendable {
    /// `YYYYMMDD'T'HHMMSS'Z'`, UTC.
    public let stamp: String
    /// `YYYYMMDD`.
    public var day: String { String(stamp.prefix(8)) }

    /// A stamp as written; nil unless it has the form `YYYYMMDDTHHMMSSZ`.
    public init?(stamp: String) {
        let bytes = Array(stamp.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z"),
              (bytes[0..<8] + bytes[9..<15]).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        self.stamp = stamp
    }

    /// The UTC time `seconds` after the epoch. `gmtime_r(3)`
    public init(secondsSinceEpoch seconds: Int) {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        stamp = "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    /// Now, from the wall clock (S3 refuses a request more than 15 minutes off). `time(2)`
    public static func now() -> AmzDate { AmzDate(secondsSinceEpoch: Int(time(nil))) }
}
