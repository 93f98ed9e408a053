/// A custom S3 endpoint, `http[s]://host[:port]`, addressed path-style (`/bucket/key`), as
/// MinIO, SeaweedFS, Ceph RGW and the AWS CLI with `--endpoint-url` do.
public struct S3Endpoint: Equatable, Sendable {
    public let scheme: String
    public let host: String
    public let port: Int?

    public init(parsing text: String) throws(ObjectStoreError) {
        let scheme: String
        if text.hasPrefix("http://") { scheme = "http" } else if text.hasPrefix("https://") { scheme = "https" } else {
            throw .invalidLocation(text)
        }
        var authority = String(text.dropFirst(scheme.count + 3).prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                throw .invalidLocation(text)
            }
            port = number
            authority = String(authority[..<colon])
        }
        guard !authority.isEmpty, !authority.contains("@") else { throw .invalidLocation(text) }
        self.scheme = scheme
        self.host = authority
        self.port = port
    }

    /// The Host header: the port only when it is not the scheme's default.
    var hostHeader: String {
        guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }
}

/// Where one object's request goes: the URL to send and what SigV4 signs.
struct S3Address: Equatable {
    let url: String
    let host: String
    /// The decoded path the signer encodes (S3 flavor: once, no normalization).
    let path: String

    /// Path-style for a custom endpoint; virtual-hosted for AWS, except for bucket names with a
    /// dot (their virtual host would not match AWS's wildcard certificate), which go path-style.
    init(endpoint: S3Endpoint?, region: String, bucket: String, key: String?) {
        let keyPath = key.map { "/" + $0 } ?? "/"
        if let endpoint {
            host = endpoint.hostHeader
            path = "/\(bucket)" + (key.map { "/" + $0 } ?? "")
            url = "\(endpoint.scheme)://\(host)\(URIEncoding.encodePath(path))"
        } else if bucket.contains(".") {
            host = "s3.\(region).amazonaws.com"
            path = "/\(bucket)" + (key.map { "/" + $0 } ?? "")
            url = "https://\(host)\(URIEncoding.encodePath(path))"
        } else {
            host = "\(bucket).s3.\(region).amazonaws.com"
            path = keyPath
            url = "https://\(host)\(URIEncoding.encodePath(path))"
        }
    }
}
