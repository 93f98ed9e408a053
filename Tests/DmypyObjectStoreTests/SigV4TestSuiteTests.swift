import Foundation
import Testing
@testable import DmypyObjectStore

/// Our signer against AWS's own SigV4 test suite, read at test time from botocore's sdist on
/// PyPI (`fetch-sigv4-suite`; never copied into the repository). Each `.req` is parsed, signed
/// with the suite's credentials, date, region and service, and its canonical request, string to
/// sign and Authorization header compared with the `.creq`, `.sts` and `.authz` AWS published.
@Suite struct SigV4TestSuiteTests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = AmzDate(stamp: "20150830T123600Z")!

    @Test func everyVectorOfTheSuite() throws {
        let suite = try Self.suiteDirectory()
        let cases = try Self.cases(under: suite)
        // The suite has 34 requests; a fetch that found fewer must not pass quietly.
        #expect(cases.count >= 30, "found only \(cases.count) vectors under \(suite.path)")
        var passed = 0
        for base in cases {
            let name = base.path.replacingOccurrences(of: suite.path + "/", with: "")
            let expectedCanonical = try String(contentsOf: base.appendingPathExtension("creq"), encoding: .utf8)
            let token = expectedCanonical.split(separator: "\n").first { $0.hasPrefix("x-amz-security-token:") }
                .map { String($0.dropFirst("x-amz-security-token:".count)) }
            let signer = SigV4Signer(
                credentials: AWSCredentials(accessKeyID: Self.credentials.accessKeyID,
                                            secretAccessKey: Self.credentials.secretAccessKey, sessionToken: token),
                region: "us-east-1", service: "service", flavor: .generic)
            let request = try Self.parse(String(contentsOf: base.appendingPathExtension("req"), encoding: .utf8))
            let signed = signer.sign(request, date: Self.date)
            let sts = try String(contentsOf: base.appendingPathExtension("sts"), encoding: .utf8)
            let authz = try String(contentsOf: base.appendingPathExtension("authz"), encoding: .utf8)
            #expect(signed.canonicalRequest == expectedCanonical, "\(name): canonical request")
            #expect(signed.stringToSign == sts, "\(name): string to sign")
            #expect(signed.authorization == authz, "\(name): authorization")
            if signed.canonicalRequest == expectedCanonical && signed.stringToSign == sts && signed.authorization == authz {
                passed += 1
            }
        }
        #expect(passed == cases.count)
    }

    /// A wrong secret must change every signature: the comparison above is not vacuous.
    @Test func aWrongSecretFailsTheSuite() throws {
        let suite = try Self.suiteDirectory()
        let base = suite.appendingPathComponent("get-vanilla/get-vanilla")
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wrong"),
                                 region: "us-east-1", service: "service", flavor: .generic)
        let signed = signer.sign(try Self.parse(String(contentsOf: base.appendingPathExtension("req"), encoding: .utf8)), date: Self.date)
        #expect(signed.canonicalRequest == (try String(contentsOf: base.appendingPathExtension("creq"), encoding: .utf8)))
        #expect(signed.authorization != (try String(contentsOf: base.appendingPathExtension("authz"), encoding: .utf8)))
    }

    // MARK: The suite's files

    /// `DMYPY_SIGV4_SUITE`, else what `fetch-sigv4-suite` prints (it downloads once, then reuses).
    static func suiteDirectory() throws -> URL {
        if let explicit = ProcessInfo.processInfo.environment["DMYPY_SIGV4_SUITE"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fetch-sigv4-suite")
        let process = Process()
        process.executableURL = script
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SuiteMissing(reason: "\(script.path) failed (exit \(process.terminationStatus)): the suite comes from botocore's sdist on PyPI")
        }
        return URL(fileURLWithPath: String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    struct SuiteMissing: Error, CustomStringConvertible {
        let reason: String
        var description: String { reason }
    }

    /// Every `X/X.req` below `root` (as `X/X`, without the extension), sorted.
    static func cases(under root: URL) throws -> [URL] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "req" }
            .map { $0.deletingPathExtension() }.sorted { $0.path < $1.path }
    }

    /// A `.req` file: `METHOD PATH[?QUERY] HTTP/1.1`, headers (a line starting with whitespace
    /// continues the previous value), a blank line, the body. The path may hold raw spaces and
    /// UTF-8; query names and values may be percent-encoded: both are decoded for the signer.
    static func parse(_ text: String) throws -> SigV4Signer.Request {
        let lines = text.components(separatedBy: "\n")
        let requestLine = lines[0]
        guard let space = requestLine.firstIndex(of: " "), let version = requestLine.range(of: " HTTP/", options: .backwards)
        else { throw SuiteMissing(reason: "bad request line: \(requestLine)") }
        let method = String(requestLine[..<space])
        let target = String(requestLine[requestLine.index(after: space)..<version.lowerBound])
        let pathPart = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [(name: String, value: String)] = []
        if pathPart.count == 2 {
            for item in pathPart[1].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query.append((URIEncoding.decode(String(pair[0])), pair.count == 2 ? URIEncoding.decode(String(pair[1])) : ""))
            }
        }
        var headers: [(name: String, value: String)] = []
        var index = 1
        while index < lines.count, !lines[index].isEmpty {
            let line = lines[index]
            if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
            index += 1
        }
        let body = index < lines.count ? lines[(index + 1)...].joined(separator: "\n") : ""
        return SigV4Signer.Request(method: method, path: URIEncoding.decode(String(pathPart[0])), query: query,
                                   headers: headers, payloadHash: SigV4Signer.hexSHA256(Array(body.utf8)))
    }
}
