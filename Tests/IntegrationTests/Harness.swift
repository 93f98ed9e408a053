import Foundation
import Testing

/// Drives the real binaries: our `dmypy` (built by SwiftPM) and mypy's own `dmypy` (the pinned
/// mypy in the project's .venv, or DMYPY_TEST_PYTHON), on real projects in temporary directories.
enum Harness {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var ours: String {
        for configuration in ["debug", "release"] {
            let path = root.appendingPathComponent(".build/\(configuration)/dmypy").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return root.appendingPathComponent(".build/debug/dmypy").path
    }

    /// The Python with the pinned mypy: mypy's own dmypy runs under it, and so does our engine.
    static var python: String {
        if let explicit = ProcessInfo.processInfo.environment["DMYPY_TEST_PYTHON"], !explicit.isEmpty { return explicit }
        return root.appendingPathComponent(".venv/bin/python").path
    }

    enum Client { case ours, mypy }

    struct Result: Equatable, CustomStringConvertible {
        var stdout: String
        var stderr: String
        var status: Int32
        var description: String { "status \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)---" }
    }

    /// A temporary project with the given files.
    static func project(_ files: [String: String]) throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dmypy-it-\(UUID().uuidString.prefix(8))")
        for (name, content) in files {
            let url = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: false, encoding: .utf8)
        }
        return dir
    }

    static func copy(_ project: URL) throws -> URL {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dmypy-it-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(at: project, to: dir)
        return dir
    }

    static func write(_ project: URL, _ name: String, _ content: String) throws {
        try content.write(to: project.appendingPathComponent(name), atomically: false, encoding: .utf8)
    }

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["DMYPY_PYTHON"] = python
        env.removeValue(forKey: "MYPY_FORCE_COLOR")
        env.removeValue(forKey: "FORCE_COLOR")
        env["COLUMNS"] = "80"
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs one dmypy command line with `client` in `directory`; waits at most `timeout` seconds.
    @discardableResult
    static func dmypy(_ client: Client, _ arguments: [String], in directory: URL, env: [String: String] = [:], timeout: Double = 180) throws -> Result {
        let process = Foundation.Process()
        switch client {
        case .ours:
            process.executableURL = URL(fileURLWithPath: ours)
            process.arguments = arguments
        case .mypy:
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = ["-m", "mypy.dmypy"] + arguments
        }
        return try run(process, in: directory, env: environment(env), timeout: timeout)
    }

    static func run(_ process: Foundation.Process, in directory: URL, env: [String: String], timeout: Double) throws -> Result {
        process.currentDirectoryURL = directory
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let group = DispatchGroup()
        var outData = Data(), errData = Data()
        group.enter()
        DispatchQueue.global().async { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            throw HarnessError.timedOut(process.arguments ?? [])
        }
        process.waitUntilExit()
        return Result(stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self),
                      status: process.terminationStatus)
    }

    enum HarnessError: Error { case timedOut([String]), noStatusFile }

    /// Stops whatever daemon a project has, by pid, so no test leaves one behind.
    static func cleanUp(_ project: URL, statusFile: String = ".dmypy.json") {
        let url = statusFile.hasPrefix("/") ? URL(fileURLWithPath: statusFile) : project.appendingPathComponent(statusFile)
        if let data = try? Data(contentsOf: url),
           let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let pid = object["pid"] as? Int32 {
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(at: project)
    }

    static func statusFilePID(_ project: URL, statusFile: String = ".dmypy.json") throws -> Int32 {
        let data = try Data(contentsOf: project.appendingPathComponent(statusFile))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let pid = object["pid"] as? Int else {
            throw HarnessError.noStatusFile
        }
        return Int32(pid)
    }

    /// Fails the test at once, with a clear reason, when mypy is not installed where we look.
    static func requireMypy() throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            Issue.record("No Python with mypy at \(python): run tools/bootstrap or set DMYPY_TEST_PYTHON")
            throw HarnessError.noStatusFile
        }
    }
}

/// A small project with an error across modules, used by several tests.
let sampleProject: [String: String] = [
    "a.py": "import b\nx: int = b.f()\n\ndef g(n: int) -> str:\n    return str(n)\n",
    "b.py": "def f() -> str:\n    return 'hi'\n",
    "c.py": "def unannotated(x, y):\n    return x + y\n\nunannotated(1, 2)\n",
]
