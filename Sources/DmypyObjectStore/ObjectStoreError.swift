/// Why an object store operation failed: a value the caller can match on and print once.
///
/// No description ever contains a secret key, a session token or a signature: the associated
/// strings hold keys, bucket names, paths and transport reasons only, and credentials are never
/// passed in.
public enum ObjectStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The object does not exist (S3 NoSuchKey, or no such file).
    case notFound(String)
    /// The credentials are valid but may not do this (S3 AccessDenied).
    case accessDenied
    /// The store does not know the access key, or the signature does not match (wrong secret key).
    case invalidCredentials
    /// The bucket does not exist.
    case noSuchBucket(String)
    /// No connection could be made, or it broke: where and why.
    case unreachable(String)
    /// The deadline passed before the store answered.
    case timedOut
    /// The object is larger than the caller's limit, in bytes.
    case tooLarge(limit: Int)
    /// Any other answer: the HTTP status and, when the body had one, S3's error code.
    case badResponse(status: Int, code: String?)
    /// The user's location string is not `s3://bucket[/prefix]` or `file:///absolute/path`.
    case invalidLocation(String)
    /// A key that no store accepts: empty, absolute, or with an empty, `.` or `..` segment.
    case invalidKey(String)
    /// No credentials could be found: where we looked.
    case missingCredentials(String)
    /// A local file operation failed: the path and the reason.
    case io(String)

    public var description: String {
        switch self {
        case .notFound(let key): "The object '\(key)' does not exist in the store."
        case .accessDenied: "The store denied access: the credentials may not do this on the bucket."
        case .invalidCredentials: "The store rejected the credentials: unknown access key or wrong secret key."
        case .noSuchBucket(let bucket): "The bucket '\(bucket)' does not exist."
        case .unreachable(let reason): "The store could not be reached: \(reason)."
        case .timedOut: "The store did not answer before the deadline."
        case .tooLarge(let limit): "The object is larger than the limit of \(limit) bytes."
        case .badResponse(let status, let code?): "The store answered HTTP \(status) (\(code))."
        case .badResponse(let status, nil): "The store answered HTTP \(status)."
        case .invalidLocation(let location):
            "'\(location)' is not an object store location: expected s3://bucket/prefix or file:///absolute/path."
        case .invalidKey(let key): "'\(key)' is not a valid object key."
        case .missingCredentials(let reason): "No S3 credentials were found: \(reason)."
        case .io(let reason): "A local file operation failed: \(reason)."
        }
    }

    /// Whether another attempt may succeed: connection failures, timeouts of one attempt, and
    /// 5xx answers (503 SlowDown among them). Never a 4xx: the same request would fail again.
    var isRetryable: Bool {
        switch self {
        case .unreachable, .timedOut: true
        case .badResponse(let status, _): status >= 500
        default: false
        }
    }
}
