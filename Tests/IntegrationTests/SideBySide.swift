import Foundation
import Testing

/// The same steps (commands and edits) on two identical copies of a project, one with mypy's own
/// dmypy and one with ours: every command's stdout, stderr and exit status must be byte-identical.
enum SideBySide {
    enum Step: CustomStringConvertible {
        case dmypy([String])
        case write(String, String)
        case remove(String)
        case makeDirectory(String)
        /// Looks at our copy (its `status -v`, say) between steps; mypy's has no counterpart.
        case inspectOurs((URL) throws -> Void)

        var description: String {
            switch self {
            case .dmypy(let arguments): return "dmypy " + arguments.joined(separator: " ")
            case .write(let name, _): return "write \(name)"
            case .remove(let name): return "remove \(name)"
            case .makeDirectory(let name): return "mkdir \(name)"
            case .inspectOurs: return "inspect ours"
            }
        }
    }

    /// Runs `steps` with both implementations; returns our results (one per `dmypy` step). The
    /// files named in `sameFiles` (log files, say) must end up with the same contents too.
    @discardableResult
    static func run(_ files: [String: String], _ steps: [Step], env: [String: String] = [:], sameFiles: [String] = [],
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> [Harness.Result] {
        try Harness.requireMypy()
        let theirs = try Harness.project(files)
        let ours = try Harness.copy(theirs)
        defer {
            _ = try? Harness.dmypy(.mypy, ["kill"], in: theirs, env: env, timeout: 30)
            _ = try? Harness.dmypy(.ours, ["kill"], in: ours, env: env, timeout: 30)
            Harness.cleanUp(theirs)
            Harness.cleanUp(ours)
        }
        var results: [Harness.Result] = []
        for (index, step) in steps.enumerated() {
            switch step {
            case .dmypy(let arguments):
                let expected = try Harness.dmypy(.mypy, arguments, in: theirs, env: env)
                let actual = try Harness.dmypy(.ours, arguments, in: ours, env: env)
                #expect(actual == expected, "step \(index): \(step)\nmypy:\n\(expected)\nours:\n\(actual)", sourceLocation: sourceLocation)
                results.append(actual)
            case .write(let name, let content):
                for dir in [theirs, ours] {
                    let url = dir.appendingPathComponent(name)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try content.write(to: url, atomically: false, encoding: .utf8)
                }
            case .remove(let name):
                for dir in [theirs, ours] { try FileManager.default.removeItem(at: dir.appendingPathComponent(name)) }
            case .makeDirectory(let name):
                for dir in [theirs, ours] {
                    try FileManager.default.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
                }
            case .inspectOurs(let look):
                try look(ours)
            }
        }
        for name in sameFiles {
            let expected = try? String(contentsOf: theirs.appendingPathComponent(name), encoding: .utf8)
            let actual = try? String(contentsOf: ours.appendingPathComponent(name), encoding: .utf8)
            #expect(actual == expected, "\(name)\nmypy's:\n\(expected ?? "(none)")\nours:\n\(actual ?? "(none)")", sourceLocation: sourceLocation)
        }
        return results
    }
}
