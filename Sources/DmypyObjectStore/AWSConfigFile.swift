import DmypySystem

/// The INI dialect of `~/.aws/credentials` and `~/.aws/config`: `[section]` headers, `key = value`
/// lines, `#` and `;` comments, and indented lines under a key with an empty value (a nested
/// block such as `s3 =` / `  endpoint_url = …`), stored as `s3.endpoint_url`.
struct AWSConfigFile: Equatable {
    var sections: [String: [String: String]] = [:]

    /// The file's sections; an empty file when it cannot be read (the AWS CLI, too, treats a
    /// missing file as empty). Files larger than 1 MiB are read in part, as a bound.
    static func load(_ path: String) -> AWSConfigFile {
        guard let bytes = FileSystem.read(path, limit: 1 << 20) else { return AWSConfigFile() }
        return AWSConfigFile(parsing: String(decoding: bytes, as: UTF8.self))
    }

    init() {}

    init(parsing text: String) {
        var section: String?
        var parent: String?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let indented = rawLine.first == " " || rawLine.first == "\t"
            let line = rawLine.trimmingSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if !indented, line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingSpaces
                parent = nil
                if sections[section!] == nil { sections[section!] = [:] }
                continue
            }
            guard let name = section, let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals]).trimmingSpaces.lowercased()
            let value = String(line[line.index(after: equals)...]).trimmingSpaces
            if indented, let parent {
                sections[name]![parent + "." + key] = value
            } else {
                sections[name]![key] = value
                parent = value.isEmpty ? key : nil
            }
        }
    }

    /// The section for a profile in the credentials file: `[name]`.
    func credentialsProfile(_ name: String) -> [String: String]? { sections[name] }

    /// The section for a profile in the config file: `[profile name]`, and `[default]` for the
    /// default profile (also `[profile default]`).
    func configProfile(_ name: String) -> [String: String]? {
        if name == "default" { return sections["default"] ?? sections["profile default"] }
        return sections["profile \(name)"]
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
