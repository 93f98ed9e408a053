/// Credentials, region and endpoint for S3, found as the AWS CLI finds them.
public struct S3Configuration: Equatable, Sendable {
    public var credentials: AWSCredentials
    public var region: String
    /// A custom endpoint (`AWS_ENDPOINT_URL_S3`, …): requests are path-style,
    /// `http://127.0.0.1:8333/bucket/key`. Nil: AWS itself, virtual-hosted style,
    /// `https://bucket.s3.REGION.amazonaws.com/key`.
    public var endpoint: S3Endpoint?

    public init(credentials: AWSCredentials, region: String, endpoint: S3Endpoint?) {
        self.credentials = credentials
        self.region = region
        self.endpoint = endpoint
    }

    /// Resolves from `environment` (never the process's own: the caller passes it) and the files
    /// it names:
    /// - the profile is `AWS_PROFILE`, else `default`;
    /// - credentials: `AWS_ACCESS_KEY_ID` with `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`)
    ///   when both are set, as the AWS CLI lets them win over the files; else the profile's
    ///   `aws_access_key_id`/`aws_secret_access_key`/`aws_session_token` in the credentials file
    ///   (`AWS_SHARED_CREDENTIALS_FILE`, else `$HOME/.aws/credentials`), else in the config file
    ///   (`AWS_CONFIG_FILE`, else `$HOME/.aws/config`; section `[profile NAME]`, or `[default]`);
    /// - region: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, else us-east-1;
    /// - endpoint: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's `s3 = endpoint_url`
    ///   block or `endpoint_url`, else AWS.
    public static func resolve(environment: [String: String]) throws(ObjectStoreError) -> S3Configuration {
        func env(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = env("HOME")
        func path(_ variable: String, default file: String) -> String? {
            if let explicit = env(variable) { return expandHome(explicit, home: home) }
            return home.map { "\($0)/.aws/\(file)" }
        }
        let profileName = env("AWS_PROFILE") ?? "default"
        let credentialsPath = path("AWS_SHARED_CREDENTIALS_FILE", default: "credentials")
        let configPath = path("AWS_CONFIG_FILE", default: "config")
        let credentialsFile = credentialsPath.map(AWSConfigFile.load)?.credentialsProfile(profileName)
        let configFile = configPath.map(AWSConfigFile.load)?.configProfile(profileName)
        if env("AWS_PROFILE") != nil, credentialsFile == nil, configFile == nil,
           env("AWS_ACCESS_KEY_ID") == nil || env("AWS_SECRET_ACCESS_KEY") == nil {
            throw .missingCredentials("the profile '\(profileName)' (AWS_PROFILE) is in neither \(credentialsPath ?? "the credentials file") nor \(configPath ?? "the config file")")
        }

        let credentials: AWSCredentials
        if let id = env("AWS_ACCESS_KEY_ID"), let secret = env("AWS_SECRET_ACCESS_KEY") {
            credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: env("AWS_SESSION_TOKEN"))
        } else if let found = fileCredentials(credentialsFile) ?? fileCredentials(configFile) {
            credentials = found
        } else {
            throw .missingCredentials("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set, and the profile '\(profileName)' has no aws_access_key_id and aws_secret_access_key in \(credentialsPath ?? "the credentials file") or \(configPath ?? "the config file")")
        }

        let region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? nonEmpty(configFile?["region"]) ?? "us-east-1"
        let endpointText = env("AWS_ENDPOINT_URL_S3") ?? env("AWS_ENDPOINT_URL")
            ?? nonEmpty(configFile?["s3.endpoint_url"]) ?? nonEmpty(configFile?["endpoint_url"])
        let endpoint = try endpointText.map { (text) throws(ObjectStoreError) -> S3Endpoint in try S3Endpoint(parsing: text) }
        return S3Configuration(credentials: credentials, region: region, endpoint: endpoint)
    }

    private static func fileCredentials(_ section: [String: String]?) -> AWSCredentials? {
        guard let section, let id = nonEmpty(section["aws_access_key_id"]),
              let secret = nonEmpty(section["aws_secret_access_key"]) else { return nil }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: section["aws_session_token"])
    }

    private static func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

    private static func expandHome(_ path: String, home: String?) -> String {
        guard let home, path == "~" || path.hasPrefix("~/") else { return path }
        return home + path.dropFirst()
    }
}
