import Testing
@testable import DmypyObjectStore

@Suite struct ObjectStoreLocationTests {
    @Test func parsesS3AndFile() throws {
        #expect(try ObjectStoreLocation(parsing: "s3://my-bucket") == .s3(bucket: "my-bucket", prefix: ""))
        #expect(try ObjectStoreLocation(parsing: "s3://my-bucket/") == .s3(bucket: "my-bucket", prefix: ""))
        #expect(try ObjectStoreLocation(parsing: "s3://my-bucket/team/mypy/") == .s3(bucket: "my-bucket", prefix: "team/mypy"))
        #expect(try ObjectStoreLocation(parsing: "file:///srv/cache/") == .file(directory: "/srv/cache"))
        #expect(try ObjectStoreLocation(parsing: "s3://b12/p").description == "s3://b12/p")
    }

    @Test func refusesTheRest() {
        for text in ["", "bucket/prefix", "s3://", "s3://UPPER", "s3://a", "s3://b12/../x", "file://relative/path",
                     "file:///srv/../etc", "http://h/b"] {
            #expect(throws: ObjectStoreError.invalidLocation(text), "\(text)") { try ObjectStoreLocation(parsing: text) }
        }
    }

    @Test func keys() throws {
        #expect(try ObjectKey.full("a/b.tar", prefix: "") == "a/b.tar")
        #expect(try ObjectKey.full("a/b.tar", prefix: "p/q") == "p/q/a/b.tar")
        for key in ["", "/abs", "a//b", "a/./b", "../x", "a/..", "a/"] {
            #expect(throws: ObjectStoreError.invalidKey(key), "\(key)") { try ObjectKey.full(key, prefix: "p") }
        }
    }

    @Test func errorCodesFromS3Bodies() {
        let body = Array("<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>x</Message></Error>".utf8)
        #expect(S3Errors.error(status: 404, body: body, key: "k", bucket: "b") == .noSuchBucket("b"))
        let slow = Array("<Error><Code>SlowDown</Code></Error>".utf8)
        #expect(S3Errors.error(status: 503, body: slow, key: "k", bucket: "b") == .badResponse(status: 503, code: "SlowDown"))
        #expect(S3Errors.error(status: 503, body: slow, key: "k", bucket: "b").isRetryable)
        #expect(S3Errors.error(status: 403, body: Array("<Code>SignatureDoesNotMatch</Code>".utf8), key: nil, bucket: "b") == .invalidCredentials)
        #expect(S3Errors.error(status: 404, body: [], key: "k", bucket: "b") == .notFound("k"))
        #expect(!S3Errors.error(status: 400, body: [], key: "k", bucket: "b").isRetryable)
    }
}
