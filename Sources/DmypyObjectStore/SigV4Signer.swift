import Crypto

/// AWS Signature Version 4, as a pure value: from a request's method, path, query, headers and
/// payload hash, and a time, it computes the canonical request, the string to sign, the derived
/// signing key and the headers to add. No clock, no I/O: tested against AWS's own SigV4 test suite
/// (`Tests/DmypyObjectStoreTests/SigV4TestSuiteTests.swift`).
public struct SigV4Signer: Sendable {
    /// How the service wants its canonical request.
    public enum Flavor: Sendable {
        /// S3: the path is used as it is (no dot-segment removal, no slash merging: a key may hold
        /// either), encoded once; `x-amz-content-sha256` is sent and signed.
        case s3
        /// Every other service, and AWS's test suite: the path is normalized (RFC 3986 dot
        /// segments removed, repeated slashes merged), then encoded once.
        case generic
    }

    /// A request to sign. The path and the query are *decoded* text; the signer encodes them.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [(name: String, value: String)]
        public var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [],
                    headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// What signing produced: the headers to add to the request (x-amz-date,
    /// x-amz-content-sha256 for S3, x-amz-security-token with a session token, authorization),
    /// and the intermediate texts for tests.
    public struct Signed: Sendable {
        public let headers: [(name: String, value: String)]
        public let canonicalRequest: String
        public let stringToSign: String
        public let authorization: String
    }

    public static let emptyPayloadHash = hexSHA256([])

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    public let flavor: Flavor

    public init(credentials: AWSCredentials, region: String, service: String, flavor: Flavor) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.flavor = flavor
    }

    /// Signs `request` as made at `date`.
    public func sign(_ request: Request, date: AmzDate) -> Signed {
        var added: [(name: String, value: String)] = [("x-amz-date", date.stamp)]
        if flavor == .s3 { added.append(("x-amz-content-sha256", request.payloadHash)) }
        if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
        var full = request
        let replaced = Set(added.map { $0.name })
        full.headers = request.headers.filter { !replaced.contains($0.name.lowercased()) } + added

        let (canonical, signedHeaders) = canonicalRequest(full)
        let scope = "\(date.day)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(date.stamp)\n\(scope)\n\(Self.hexSHA256(Array(canonical.utf8)))"
        let signature = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: signingKey(day: date.day))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(Self.hex(signature))"
        return Signed(headers: added + [("authorization", authorization)], canonicalRequest: canonical,
                      stringToSign: stringToSign, authorization: authorization)
    }

    /// The canonical request and its signed-header list. Headers are lowercased, their values
    /// trimmed with inner runs of spaces merged, repeated names joined with "," in order; all are
    /// signed but those a proxy or the HTTP client may change (authorization, content-length,
    /// expect, user-agent).
    func canonicalRequest(_ request: Request) -> (text: String, signedHeaders: String) {
        let path = flavor == .generic ? Self.normalize(request.path) : request.path
        let query = request.query
            .map { (URIEncoding.encode($0.name), URIEncoding.encode($0.value)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
        var values: [String: [String]] = [:]
        for (name, value) in request.headers {
            let key = name.lowercased()
            if Self.unsignedHeaders.contains(key) { continue }
            values[key, default: []].append(Self.canonicalValue(value))
        }
        let names = values.keys.sorted()
        let headerLines = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        let signed = names.joined(separator: ";")
        let text = "\(request.method)\n\(URIEncoding.encodePath(path))\n\(query)\n\(headerLines)\n\(signed)\n\(request.payloadHash)"
        return (text, signed)
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    static let unsignedHeaders: Set<String> = ["authorization", "content-length", "expect", "user-agent"]

    static func canonicalValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).joined(separator: " ")
    }

    /// RFC 3986 remove_dot_segments, with repeated slashes merged; a trailing slash is kept.
    static func normalize(_ path: String) -> String {
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        for segment in segments {
            switch segment {
            case ".": continue
            case "..": if !output.isEmpty { output.removeLast() }
            default: output.append(segment)
            }
        }
        let last = path.split(separator: "/", omittingEmptySubsequences: false).last
        let trailingSlash = !output.isEmpty && (path.hasSuffix("/") || last == "." || last == "..")
        return "/" + output.joined(separator: "/") + (trailingSlash ? "/" : "")
    }

    public static func hexSHA256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest { out += [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
