import Testing
@testable import DmypyObjectStore

/// The S3 flavor: the examples of AWS's S3 documentation ("Signature Calculations for the
/// Authorization Header: Transferring Payload in a Single Chunk"), whose requests and signatures
/// AWS published. They check what the generic suite cannot: `x-amz-content-sha256` signed, and
/// the path encoded once and not normalized.
@Suite struct SigV4S3Tests {
    static let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3", flavor: .s3)
    static let date = AmzDate(stamp: "20130524T000000Z")!

    @Test func getObjectWithRange() {
        let request = SigV4Signer.Request(method: "GET", path: "/test.txt",
                                          headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                          payloadHash: SigV4Signer.emptyPayloadHash)
        let signed = Self.signer.sign(request, date: Self.date)
        #expect(signed.authorization == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func putObjectWithADollarInTheKey() {
        let body = Array("Welcome to Amazon S3.".utf8)
        let request = SigV4Signer.Request(method: "PUT", path: "/test$file.text",
                                          headers: [("Host", "examplebucket.s3.amazonaws.com"),
                                                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                                    ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                          payloadHash: SigV4Signer.hexSHA256(body))
        let signed = Self.signer.sign(request, date: Self.date)
        #expect(signed.canonicalRequest.split(separator: "\n")[1] == "/test%24file.text")
        #expect(signed.authorization.hasSuffix("Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"))
    }

    /// S3 keys are not paths: `a//b/./c` is a different key from `a/b/c` and must be signed as sent.
    @Test func s3PathsAreNotNormalized() {
        let request = SigV4Signer.Request(method: "GET", path: "/bucket/a b/ü+c", headers: [("host", "h")],
                                          payloadHash: SigV4Signer.emptyPayloadHash)
        let canonical = Self.signer.sign(request, date: Self.date).canonicalRequest
        #expect(canonical.split(separator: "\n")[1] == "/bucket/a%20b/%C3%BC%2Bc")
    }

    @Test func sessionTokenIsSentAndSigned() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "TOKEN"),
                                 region: "eu-west-1", service: "s3", flavor: .s3)
        let signed = signer.sign(SigV4Signer.Request(method: "HEAD", path: "/k", headers: [("host", "h")],
                                                     payloadHash: SigV4Signer.emptyPayloadHash), date: Self.date)
        #expect(signed.headers.contains { $0.name == "x-amz-security-token" && $0.value == "TOKEN" })
        #expect(signed.authorization.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
    }

    @Test func dates() {
        #expect(AmzDate(secondsSinceEpoch: 1_440_938_160).stamp == "20150830T123600Z")
        #expect(AmzDate(secondsSinceEpoch: 0).day == "19700101")
        #expect(AmzDate(stamp: "2015-08-30") == nil)
    }
}
