import DmypySystem
import Foundation
import Glibc
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

    /// Rewrites `name` with content of the same size and puts its mtime back: an edit that mypy's
    /// check of size and whole-second mtime cannot see.
    static func writeSameSizeKeepingMtime(_ project: URL, _ name: String, _ content: String,
                                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = project.appendingPathComponent(name).path
        let before = try FileManager.default.attributesOfItem(atPath: path)
        try write(project, name, content)
        try FileManager.default.setAttributes([.modificationDate: before[.modificationDate]!], ofItemAtPath: path)
        let after = try FileManager.default.attributesOfItem(atPath: path)
        #expect(after[.size] as? Int == before[.size] as? Int, "\(name): not the same size", sourceLocation: sourceLocation)
    }

    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["DMYPY_PYTHON"] = python
        env.removeValue(forKey: "MYPY_FORCE_COLOR")
        env.removeValue(forKey: "FORCE_COLOR")
        // Each test's daemon is its project's own, never a user daemon this machine may run.
        env.removeValue(forKey: "DMYPY_SOCKET")
        env.removeValue(forKey: "XDG_RUNTIME_DIR")
        env["COLUMNS"] = "80"
        // The cache slots are tested where they are the subject (CacheTests); elsewhere a daemon
        // starts cold, as mypy's does, and nothing is written in the user's cache.
        env["DMYPY_CACHE"] = "off"
        env["XDG_CACHE_HOME"] = NSTemporaryDirectory() + "dmypy-test-cache"
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs one dmypy command line with `client` in `directory`; waits at most `timeout` seconds.
    @discardableResult
    static func dmypy(_ client: Client, _ arguments: [String], in directory: URL, env: [String: String] = [:], timeout: Double = 180) throws -> Result {
        switch client {
        case .ours:
            return try run(executable: ours, arguments: arguments, in: directory, env: environment(env), timeout: timeout)
        case .mypy:
            return try run(executable: python, arguments: ["-m", "mypy.dmypy"] + arguments, in: directory, env: environment(env), timeout: timeout)
        }
    }

    /// Spawned with posix_spawn and every other descriptor closed (Foundation's Process lets
    /// daemons that a command forks inherit descriptors it waits on); output goes to files.
    static func run(executable: String, arguments: [String], in directory: URL, env: [String: String], timeout: Double) throws -> Result {
        try collect(spawn(executable: executable, arguments: arguments, in: directory, env: env), timeout: timeout)
    }

    /// A process started by `spawn` and not yet collected.
    final class Running {
        let pid: pid_t
        let arguments: [String]
        let outPath: String
        let errPath: String
        fileprivate(set) var termination: DmypySystem.Process.Termination?

        init(pid: pid_t, arguments: [String], outPath: String, errPath: String) {
            self.pid = pid
            self.arguments = arguments
            self.outPath = outPath
            self.errPath = errPath
        }

        /// Whether it has ended (reaped without waiting; `collect` still gives its result).
        var hasEnded: Bool {
            if termination == nil { termination = DmypySystem.Process.reap(pid) }
            return termination != nil
        }
    }

    /// Starts a process as `run` does, without waiting for it: several can run at once.
    static func spawn(executable: String, arguments: [String], in directory: URL, env: [String: String]) throws -> Running {
        let base = NSTemporaryDirectory() + "dmypy-out-\(UUID().uuidString)"
        let outPath = base + ".out", errPath = base + ".err"
        let out = try DmypySystem.FileDescriptor.open(outPath, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        let err = try DmypySystem.FileDescriptor.open(errPath, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        let null = try DmypySystem.FileDescriptor.open("/dev/null", O_RDONLY)
        defer { out.close(); err.close(); null.close() }
        do {
            let pid = try DmypySystem.Process.spawn(executable, arguments: [executable] + arguments,
                                                    environment: env.map { "\($0.key)=\($0.value)" },
                                                    directory: directory.path, descriptors: [0: null, 1: out, 2: err])
            return Running(pid: pid, arguments: arguments, outPath: outPath, errPath: errPath)
        } catch {
            unlink(outPath); unlink(errPath)
            throw error
        }
    }

    /// Starts one dmypy command line, as `dmypy`, without waiting for it.
    static func spawnDmypy(_ client: Client, _ arguments: [String], in directory: URL, env: [String: String] = [:]) throws -> Running {
        switch client {
        case .ours:
            return try spawn(executable: ours, arguments: arguments, in: directory, env: environment(env))
        case .mypy:
            return try spawn(executable: python, arguments: ["-m", "mypy.dmypy"] + arguments, in: directory, env: environment(env))
        }
    }

    /// Waits for a spawned process (at most `timeout` seconds, then kills it and throws) and
    /// returns what it printed and its exit status.
    static func collect(_ running: Running, timeout: Double) throws -> Result {
        defer { unlink(running.outPath); unlink(running.errPath) }
        let deadline = Date().addingTimeInterval(timeout)
        while !running.hasEnded {
            if Date() > deadline {
                kill(running.pid, SIGKILL)
                running.termination = DmypySystem.Process.wait(running.pid)
                throw HarnessError.timedOut(running.arguments)
            }
            usleep(5_000)
        }
        let status: Int32
        switch running.termination! {
        case .exited(let code): status = code
        case .signaled(let signal): status = 128 + signal
        }
        return Result(stdout: (try? String(contentsOfFile: running.outPath, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: running.errPath, encoding: .utf8)) ?? "",
                      status: status)
    }

    enum HarnessError: Error { case timedOut([String]), noStatusFile }

    /// A fresh, non-daemon mypy run over `arguments`, with a cache of its own.
    static func freshMypy(_ arguments: [String], in project: URL) throws -> Result {
        let cache = NSTemporaryDirectory() + "dmypy-fresh-cache-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: cache) }
        return try run(executable: python, arguments: ["-m", "mypy", "--cache-dir", cache] + arguments,
                       in: project, env: environment(), timeout: 300)
    }

    /// The lines of a result's stdout, as a set (a daemon orders messages as it processed modules).
    static func lines(_ result: Result) -> Set<String> { Set(result.stdout.split(separator: "\n").map(String.init)) }

    /// `dmypy status -v` (ours), parsed.
    static func verboseStatus(_ project: URL, _ options: [String] = [], env: [String: String] = [:]) throws -> Fields {
        fields(try dmypy(.ours, options + ["status", "-v"], in: project, env: env, timeout: 60))
    }

    /// The `key : value` lines of a verbose status or check: the values as printed, or typed.
    struct Fields: CustomStringConvertible {
        var values: [String: String]

        subscript(key: String) -> String? { values[key] }
        /// An integer field; 0 when it is missing or not a number.
        func int(_ key: String) -> Int { values[key].flatMap { Int($0) } ?? 0 }
        /// A Python boolean field (`True`/`False`); nil when missing.
        func bool(_ key: String) -> Bool? { values[key].map { $0 == "True" } }

        var description: String { values.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n") }
    }

    static func fields(_ result: Result) -> Fields {
        var fields: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Fields(values: fields)
    }

    /// Waits (bounded) until `condition` holds, checking every `interval` seconds; returns
    /// whether it did. The one polling loop of the tests: a deadline, never a measured time.
    @discardableResult
    static func eventually(within seconds: Double = 60, every interval: Double = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try condition() { return true }
            if Date() > deadline { return false }
            usleep(UInt32(interval * 1_000_000))
        }
    }

    /// Expects our answer to be what a fresh, non-daemon mypy run over `arguments` prints (as
    /// sets of lines: a daemon orders messages as it processed modules), status and stderr included.
    static func expectSameAsFreshMypy(_ ours: Result, _ arguments: [String], in project: URL, _ step: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let fresh = try freshMypy(arguments, in: project)
        #expect(ours.status == fresh.status, "\(step): exit status differs\nours: \(ours)\nfresh mypy: \(fresh)", sourceLocation: sourceLocation)
        #expect(lines(ours) == lines(fresh), "\(step): output differs\nours: \(ours)\nfresh mypy: \(fresh)", sourceLocation: sourceLocation)
        #expect(ours.stderr == fresh.stderr, "\(step)", sourceLocation: sourceLocation)
    }

    /// A Unix stream socket connected to `path` (for tests that speak raw bytes), or -1.
    static func connectRaw(_ path: String) -> Int32 {
        (try? UnixSocket.connect(path: path))?.rawValue ?? -1
    }

    /// Stops whatever daemon a project has, by pid, so no test leaves one behind.
    static func cleanUp(_ project: URL, statusFiles: [String] = [".dmypy.json"]) {
        for statusFile in statusFiles {
            let url = statusFile.hasPrefix("/") ? URL(fileURLWithPath: statusFile) : project.appendingPathComponent(statusFile)
            if let data = try? Data(contentsOf: url),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let pid = object["pid"] as? Int {
                kill(Int32(pid), SIGKILL)
            }
        }
        try? FileManager.default.removeItem(at: project)
    }

    /// The processes whose working directory is `directory` (a daemon a command left behind).
    static func processes(in directory: URL) -> [Int32] {
        let target = directory.resolvingSymlinksInPath().path
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == target
        }
    }

    /// Expects that no process works in `directory` any more (after a bounded wait); any left are
    /// killed, so a failing test leaves nothing behind.
    static func expectNoProcessesLeft(in directory: URL, sourceLocation: SourceLocation = #_sourceLocation) {
        let left = waitForNoProcesses(in: directory)
        left.forEach { kill($0, SIGKILL) }
        #expect(left.isEmpty, "processes left in \(directory.path): \(left)", sourceLocation: sourceLocation)
    }

    /// Waits (bounded) until no process works in `directory`; returns those still there.
    static func waitForNoProcesses(in directory: URL, seconds: Double = 10) -> [Int32] {
        var left: [Int32] = []
        eventually(within: seconds, every: 0.02) {
            left = processes(in: directory)
            return left.isEmpty
        }
        return left
    }

    static func statusFilePID(_ project: URL, statusFile: String = ".dmypy.json") throws -> Int32 {
        guard let pid = try self.statusFile(project, statusFile)["pid"] as? Int else { throw HarnessError.noStatusFile }
        return Int32(pid)
    }

    /// The socket a project's daemon listens on, from its status file.
    static func statusConnectionName(_ project: URL, statusFile: String = ".dmypy.json") throws -> String {
        guard let name = try self.statusFile(project, statusFile)["connection_name"] as? String else { throw HarnessError.noStatusFile }
        return name
    }

    private static func statusFile(_ project: URL, _ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: project.appendingPathComponent(name))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw HarnessError.noStatusFile }
        return object
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
