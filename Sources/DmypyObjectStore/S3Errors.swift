/// S3's error answers as our error values: the `<Code>` of the XML body first, the status when
/// there is no body (HEAD) or the code is one we do not know.
enum S3Errors {
    static func error(status: Int, body: [UInt8], key: String?, bucket: String) -> ObjectStoreError {
        let code = self.code(in: body)
        switch code {
        case "NoSuchKey": return .notFound(key ?? "")
        case "NoSuchBucket": return .noSuchBucket(bucket)
        case "AccessDenied", "AllAccessDisabled", "AccountProblem": return .accessDenied
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
             "TokenRefreshRequired", "InvalidSecurity":
            return .invalidCredentials
        default:
            if code == nil, status == 404, let key { return .notFound(key) }
            if code == nil, status == 403 { return .accessDenied }
            return .badResponse(status: status, code: code)
        }
    }

    /// The text of the first `<Code>…</Code>` element: all of S3's error bodies have one. Only
    /// the code is read, never echoed text such as `<StringToSign>` (which names the access key).
    static func code(in body: [UInt8]) -> String? {
        let open = Array("<Code>".utf8), close = Array("</Code>".utf8)
        guard let start = find(open, in: body, from: 0).map({ $0 + open.count }),
              let end = find(close, in: body, from: start) else { return nil }
        let code = String(decoding: body[start..<end], as: UTF8.self)
        guard !code.isEmpty, code.count <= 64, code.allSatisfy({ $0.isLetter || $0.isNumber }) else { return nil }
        return code
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        for index in start...(haystack.count - needle.count) where haystack[index..<index + needle.count].elementsEqual(needle) {
            return index
        }
        return nil
    }
}
