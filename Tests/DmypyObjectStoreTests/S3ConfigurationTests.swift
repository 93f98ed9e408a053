import Foundation
import Testing
@testable import DmypyObjectStore

/// Credentials, region and endpoint found as the AWS CLI finds them, from an environment dict and
/// real files in a temporary HOME.
@Suite struct S3ConfigurationTests {
    /// A temporary HOME with `.aws/credentials` and `.aws/config`.
    struct Home {
        let path: String
        init(credentials: String? = nil, config: String? = nil) throws {
            path = NSTemporaryDirectory() + "objectstore-home-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path + "/.aws", withIntermediateDirectories: true)
            if let credentials { try credentials.write(toFile: path + "/.aws/credentials", atomically: true, encoding: .utf8) }
            if let config { try config.write(toFile: path + "/.aws/config", atomically: true, encoding: .utf8) }
        }
        func remove() { try? FileManager.default.removeItem(atPath: path) }
    }

    static let credentialsFile = """
        # comment
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultsecret

        [ci]
        aws_access_key_id=CIKEY
        aws_secret_access_key=cisecret
        aws_session_token = citoken
        """
    static let configFile = """
        [default]
        region = eu-central-1
        [profile ci]
        region = ap-south-1
        s3 =
          endpoint_url = http://127.0.0.1:9000
        ; another comment
        [profile configonly]
        aws_access_key_id = CONFIGKEY
        aws_secret_access_key = configsecret
        endpoint_url = https://storage.example.test
        """

    @Test func defaultProfileFromTheFilesInHome() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let resolved = try S3Configuration.resolve(environment: ["HOME": home.path])
        #expect(resolved.credentials == AWSCredentials(accessKeyID: "DEFAULTKEY", secretAccessKey: "defaultsecret"))
        #expect(resolved.region == "eu-central-1")
        #expect(resolved.endpoint == nil)
    }

    @Test func namedProfileWithTokenRegionAndNestedEndpoint() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let resolved = try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "ci"])
        #expect(resolved.credentials == AWSCredentials(accessKeyID: "CIKEY", secretAccessKey: "cisecret", sessionToken: "citoken"))
        #expect(resolved.region == "ap-south-1")
        #expect(resolved.endpoint == (try S3Endpoint(parsing: "http://127.0.0.1:9000")))
    }

    @Test func credentialsInTheConfigFileOnly() throws {
        let home = try Home(config: Self.configFile)
        defer { home.remove() }
        let resolved = try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "configonly"])
        #expect(resolved.credentials.accessKeyID == "CONFIGKEY")
        #expect(resolved.region == "us-east-1")
        #expect(resolved.endpoint?.host == "storage.example.test")
    }

    /// As the AWS CLI: keys in the environment win over the profile's, even a named one, and the
    /// environment's region and endpoint over the config file's.
    @Test func environmentWinsOverFiles() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let resolved = try S3Configuration.resolve(environment: [
            "HOME": home.path, "AWS_PROFILE": "ci", "AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret",
            "AWS_SESSION_TOKEN": "envtoken", "AWS_DEFAULT_REGION": "us-west-1", "AWS_REGION": "us-west-2",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:2",
        ])
        #expect(resolved.credentials == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken"))
        #expect(resolved.region == "us-west-2")
        #expect(resolved.endpoint?.port == 2)
        let fallback = try S3Configuration.resolve(environment: [
            "AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_DEFAULT_REGION": "us-west-1", "AWS_ENDPOINT_URL": "http://h:1",
        ])
        #expect(fallback.region == "us-west-1")
        #expect(fallback.endpoint?.port == 1)
        #expect(fallback.credentials.sessionToken == nil)
    }

    /// Only one of the two keys in the environment: the files decide, never a mix.
    @Test func halfAnEnvironmentPairIsIgnored() throws {
        let home = try Home(credentials: Self.credentialsFile)
        defer { home.remove() }
        let resolved = try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_ACCESS_KEY_ID": "ENVKEY"])
        #expect(resolved.credentials == AWSCredentials(accessKeyID: "DEFAULTKEY", secretAccessKey: "defaultsecret"))
    }

    @Test func explicitFilePaths() throws {
        let home = try Home(credentials: Self.credentialsFile, config: Self.configFile)
        defer { home.remove() }
        let elsewhere = try Home()
        defer { elsewhere.remove() }
        let resolved = try S3Configuration.resolve(environment: [
            "HOME": elsewhere.path, "AWS_PROFILE": "ci",
            "AWS_SHARED_CREDENTIALS_FILE": home.path + "/.aws/credentials", "AWS_CONFIG_FILE": home.path + "/.aws/config",
        ])
        #expect(resolved.credentials.accessKeyID == "CIKEY")
        #expect(resolved.region == "ap-south-1")
    }

    @Test func missingCredentialsSayWhereWeLooked() throws {
        let home = try Home(credentials: Self.credentialsFile)
        defer { home.remove() }
        #expect(throws: ObjectStoreError.self) { try S3Configuration.resolve(environment: [:]) }
        do {
            _ = try S3Configuration.resolve(environment: ["HOME": home.path, "AWS_PROFILE": "nosuch"])
            Issue.record("an unknown profile resolved")
        } catch {
            guard case .missingCredentials(let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("nosuch"))
            #expect(!error.description.contains("secret"))
        }
    }

    @Test func descriptionsNeverShowSecrets() {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "t0k3n")
        #expect(!credentials.description.contains("s3cr3t"))
        #expect(!credentials.description.contains("t0k3n"))
    }

    @Test func addressing() throws {
        let custom = S3Address(endpoint: try S3Endpoint(parsing: "http://127.0.0.1:8333"), region: "us-east-1",
                               bucket: "cache", key: "pre/a b/ü.tar")
        #expect(custom.url == "http://127.0.0.1:8333/cache/pre/a%20b/%C3%BC.tar")
        #expect(custom.host == "127.0.0.1:8333")
        #expect(custom.path == "/cache/pre/a b/ü.tar")
        let aws = S3Address(endpoint: nil, region: "eu-west-1", bucket: "cache", key: "k+1")
        #expect(aws.url == "https://cache.s3.eu-west-1.amazonaws.com/k%2B1")
        #expect(aws.host == "cache.s3.eu-west-1.amazonaws.com")
        #expect(aws.path == "/k+1")
        let dotted = S3Address(endpoint: nil, region: "eu-west-1", bucket: "my.cache", key: "k")
        #expect(dotted.url == "https://s3.eu-west-1.amazonaws.com/my.cache/k")
        #expect(try S3Endpoint(parsing: "https://h:443").hostHeader == "h")
        #expect(throws: ObjectStoreError.self) { try S3Endpoint(parsing: "ftp://h") }
    }
}
