// Runs argparse_oracle.py (mypy's real dmypy parser under Python's argparse) once
// for every case of the suite, and turns our own outcomes into the same shape so
// the two can be compared field by field.

import DmypyCLI
import Foundation

/// One command line to try, at one terminal width.
struct Case: Hashable, Sendable, CustomStringConvertible {
    var argv: [String]
    var columns: Int = 80

    var description: String {
        "dmypy " + argv.map { $0.debugDescription }.joined(separator: " ") + "  [COLUMNS=\(columns)]"
    }
}

/// A namespace value, encoded as the oracle encodes it.
enum Encoded: Equatable, Decodable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case string(String)
    case int(String)       // decimal digits
    case float(String)     // IEEE-754 bits, 16 hex digits
    case list([Encoded])
    case other(String)

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let flag = try? container.decode(Bool.self) { self = .bool(flag); return }
        if let text = try? container.decode(String.self) { self = .string(text); return }
        if let items = try? container.decode([Encoded].self) { self = .list(items); return }
        let object = try container.decode([String: String].self)
        if let digits = object["int"] { self = .int(digits) }
        else if let bits = object["float"] { self = .float(bits) }
        else { self = .other(object.description) }
    }

    static func int(_ value: Int) -> Encoded { .int(String(value)) }

    static func float(_ value: Double) -> Encoded {
        let hex = String(value.bitPattern, radix: 16)
        return .float(String(repeating: "0", count: 16 - hex.count) + hex)
    }

    var description: String {
        switch self {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .string(let s): return s.debugDescription
        case .int(let d): return d
        case .float(let bits): return "float(0x\(bits))"
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .other(let text): return text
        }
    }
}

/// What `dmypy <argv>` did while parsing: the oracle's answer, and ours in the
/// same shape.
struct Observed: Equatable, Decodable, Sendable, CustomStringConvertible {
    var exit: Int?
    var stdout: String
    var stderr: String
    var version: Bool
    var action: String?
    var namespace: [String: Encoded]?
    var usage: String?
    var help: String?
    var crash: String?

    var description: String {
        var lines = ["exit=\(exit.map(String.init) ?? "None") version=\(version) action=\(action ?? "None")"]
        if let namespace {
            lines.append("namespace=" + namespace.sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        }
        if !stdout.isEmpty { lines.append("stdout:\n" + stdout) }
        if !stderr.isEmpty { lines.append("stderr:\n" + stderr) }
        if let usage { lines.append("usage:\n" + usage) }
        if let help { lines.append("help:\n" + help) }
        if let crash { lines.append("CRASH: " + crash) }
        return lines.joined(separator: "\n")
    }
}

// MARK: - Running the oracle

enum OracleError: Error, CustomStringConvertible {
    case noPython([String])
    case failed(String)

    var description: String {
        switch self {
        case .noPython(let tried):
            return "No Python with mypy 2.4.1 found for the argparse oracle; tried: "
                + tried.joined(separator: ", ")
                + ". Set DMYPY_TEST_PYTHON to a python that can `import mypy.dmypy.client`."
        case .failed(let text):
            return "The argparse oracle failed: \(text)"
        }
    }
}

enum Oracle {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let packageRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()

    /// `DMYPY_TEST_PYTHON` if set, else the package's `.venv`, else `/tmp/mypyvenv`.
    static func python() throws -> String {
        var candidates = [packageRoot.appendingPathComponent(".venv/bin/python").path, "/tmp/mypyvenv/bin/python"]
        if let explicit = ProcessInfo.processInfo.environment["DMYPY_TEST_PYTHON"], !explicit.isEmpty {
            candidates = [explicit]  // when it is set, nothing else is tried
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw OracleError.noPython(candidates)
        }
        return found
    }

    /// Runs every case through argparse, with `cwd` as the current directory.
    static func run(_ cases: [Case], cwd: String) throws -> [Case: Observed] {
        let python = try python()
        let unique = Array(Set(cases))
        let request: [String: Any] = [
            "cwd": cwd,
            "cases": unique.map { ["argv": $0.argv, "columns": $0.columns] as [String: Any] },
        ]
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("dmypy-cli-oracle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in.json")
        let output = scratch.appendingPathComponent("out.json")
        let errors = scratch.appendingPathComponent("err.txt")
        try JSONSerialization.data(withJSONObject: request).write(to: input)
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [testsDirectory.appendingPathComponent("argparse_oracle.py").path]
        process.standardInput = try FileHandle(forReadingFrom: input)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw OracleError.failed("\(python) exited with \(process.terminationStatus):\n\(text)")
        }
        struct Response: Decodable {
            var mypy: String
            var python: String
            var results: [Observed]
        }
        let response = try JSONDecoder().decode(Response.self, from: Data(contentsOf: output))
        guard response.mypy == "2.4.1", response.python.hasPrefix("3.11.") else {
            throw OracleError.failed(
                "\(python) has mypy \(response.mypy) on Python \(response.python); the reference is mypy 2.4.1 "
                    + "on Python 3.11 (argparse changes between Python versions)")
        }
        let results = response.results
        guard results.count == unique.count else {
            throw OracleError.failed("expected \(unique.count) results, got \(results.count)")
        }
        return Dictionary(uniqueKeysWithValues: zip(unique, results))
    }
}

// MARK: - Our outcome, in the oracle's shape

extension Observed {
    init(_ outcome: ParseOutcome, columns: Int) {
        self.init(exit: nil, stdout: "", stderr: "", version: false, action: nil, namespace: nil,
                  usage: nil, help: nil, crash: nil)
        switch outcome {
        case .version:
            version = true
        case .exit(let code, let out, let err):
            exit = Int(code)
            stdout = out
            stderr = err
        case .invocation(let invocation):
            let (name, fields) = encode(invocation.command)
            action = name
            var namespace = fields
            namespace["status_file"] = .string(invocation.statusFile)
            for dest in invocation.emptyListOptions { namespace[dest] = .list([]) }
            self.namespace = namespace
            if invocation.command == .none { usage = usageText(columns: columns) }
            if invocation.command == .help { help = helpText(columns: columns) }
        }
    }
}

private func optional(_ value: String?) -> Encoded { value.map(Encoded.string) ?? .null }
private func optional(_ value: Int?) -> Encoded { value.map(Encoded.int) ?? .null }
private func list(_ values: [String]) -> Encoded { .list(values.map(Encoded.string)) }
private func list(_ values: [String]?) -> Encoded { values.map(list) ?? .null }

/// The action function's name and `vars(args)` for a command.
private func encode(_ command: Command) -> (String?, [String: Encoded]) {
    switch command {
    case .none: return (nil, [:])
    case .stop: return ("do_stop", [:])
    case .kill: return ("do_kill", [:])
    case .hang: return ("do_hang", [:])
    case .help: return ("do_help", [:])
    case .start(let o), .restart(let o):
        let name = if case .start = command { "do_start" } else { "do_restart" }
        return (name, ["log_file": optional(o.logFile), "timeout": optional(o.timeout), "flags": list(o.flags)])
    case .status(let o):
        return ("do_status", ["verbose": .bool(o.verbose), "fswatcher_dump_file": optional(o.fswatcherDumpFile)])
    case .check(let o):
        return ("do_check", [
            "verbose": .bool(o.verbose), "quiet": .bool(o.quiet), "junit_xml": optional(o.junitXML),
            "perf_stats_file": optional(o.perfStatsFile), "files": list(o.files),
            "export_types": .bool(o.exportTypes),
        ])
    case .run(let o):
        return ("do_run", [
            "verbose": .bool(o.verbose), "junit_xml": optional(o.junitXML),
            "perf_stats_file": optional(o.perfStatsFile), "timeout": optional(o.timeout),
            "log_file": optional(o.logFile), "export_types": .bool(o.exportTypes), "flags": list(o.flags),
        ])
    case .recheck(let o):
        return ("do_recheck", [
            "verbose": .bool(o.verbose), "quiet": .bool(o.quiet), "junit_xml": optional(o.junitXML),
            "perf_stats_file": optional(o.perfStatsFile), "export_types": .bool(o.exportTypes),
            "update": list(o.update), "remove": list(o.remove),
        ])
    case .suggest(let o):
        return ("do_suggest", [
            "function": .string(o.function), "json": .bool(o.json), "no_errors": .bool(o.noErrors),
            "no_any": .bool(o.noAny), "flex_any": o.flexAny.map(Encoded.float) ?? .null,
            "callsites": .bool(o.callsites), "use_fixme": optional(o.useFixme),
            "max_guesses": optional(o.maxGuesses),
        ])
    case .inspect(let o):
        return ("do_inspect", [
            "location": .string(o.location), "show": .string(o.show.rawValue), "verbose": .int(o.verbosity),
            "limit": .int(o.limit), "include_span": .bool(o.includeSpan), "include_kind": .bool(o.includeKind),
            "include_object_attrs": .bool(o.includeObjectAttrs), "union_attrs": .bool(o.unionAttrs),
            "force_reload": .bool(o.forceReload),
        ])
    case .daemon(let o):
        return ("do_daemon", [
            "timeout": optional(o.timeout), "log_file": optional(o.logFile), "flags": list(o.flags),
            "options_data": optional(o.optionsData), "ready_fd": optional(o.readyFD.map(Int.init)),
        ])
    }
}
