import DmypySystem
import Glibc

/// Finds the Python that runs the engine: `--python-executable` / `DMYPY_PYTHON`, the project's
/// `.venv/bin/python` or `venv/bin/python`, then `python3` on PATH; the first that imports mypy.
public enum PythonLocator {
    /// An interpreter that can import mypy, and the mypy version it has.
    public struct Interpreter: Equatable, Sendable {
        public let path: String
        public let mypyVersion: String
    }

    /// One interpreter looked at, and why it was passed over.
    public struct Attempt: Equatable, Sendable {
        public let path: String
        public let reason: String
    }

    /// The candidates in order, before probing.
    public static func candidates(flags: [String], environment: [String: String], directory: String) -> [String] {
        var result: [String] = []
        if let explicit = pythonExecutableFlag(flags) { result.append(FileSystem.absolute(explicit, relativeTo: directory)) }
        if let env = environment["DMYPY_PYTHON"], !env.isEmpty { result.append(FileSystem.absolute(env, relativeTo: directory)) }
        result.append(FileSystem.absolute(".venv/bin/python", relativeTo: directory))
        result.append(FileSystem.absolute("venv/bin/python", relativeTo: directory))
        if let onPath = searchPath("python3", path: environment["PATH"] ?? "/usr/bin:/bin") { result.append(onPath) }
        var seen = Set<String>()
        return result.filter { seen.insert($0).inserted }
    }

    /// The value of mypy's `--python-executable` flag, in either spelling.
    static func pythonExecutableFlag(_ flags: [String]) -> String? {
        var i = 0
        while i < flags.count {
            let flag = flags[i]
            if flag == "--python-executable", i + 1 < flags.count { return flags[i + 1] }
            if flag.hasPrefix("--python-executable=") { return String(flag.dropFirst("--python-executable=".count)) }
            i += 1
        }
        return nil
    }

    /// The first executable named `name` in a PATH string.
    public static func searchPath(_ name: String, path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileSystem.isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// Probes the candidates in order and returns the first that imports mypy, or every attempt.
    public static func locate(flags: [String], environment: [String: String], directory: String) -> Result<Interpreter, NoPythonWithMypy> {
        var attempts: [Attempt] = []
        for candidate in candidates(flags: flags, environment: environment, directory: directory) {
            guard FileSystem.exists(candidate) else {
                attempts.append(Attempt(path: candidate, reason: "not found"))
                continue
            }
            switch probe(candidate, environment: environment, directory: directory) {
            case .success(let version): return .success(Interpreter(path: candidate, mypyVersion: version))
            case .failure(let failure): attempts.append(Attempt(path: candidate, reason: failure.reason))
            }
        }
        return .failure(NoPythonWithMypy(attempts: attempts))
    }

    struct ProbeFailure: Error { let reason: String }

    /// Asks an interpreter for mypy's version: prints it, or `!` and why mypy cannot be imported.
    static let probeArguments = ["-c", "import sys\ntry:\n import mypy.version\nexcept Exception as e:\n sys.stdout.write('!' + type(e).__name__ + ': ' + str(e)); sys.exit(0)\nsys.stdout.write(mypy.version.__version__)"]

    /// Runs the interpreter once to ask for mypy's version, waiting for it (the client's way).
    static func probe(_ python: String, environment: [String: String], directory: String) -> Result<String, ProbeFailure> {
        guard let output = try? Process.runCapturingOutput(python, probeArguments, environment: environment, directory: directory) else {
            return .failure(ProbeFailure(reason: "could not be run"))
        }
        return probeOutcome(status: output.status, text: output.text)
    }

    /// What a probe's exit status and output say.
    static func probeOutcome(status: Int32, text: String) -> Result<String, ProbeFailure> {
        if status != 0 { return .failure(ProbeFailure(reason: "exited with status \(status)")) }
        if text.hasPrefix("!") { return .failure(ProbeFailure(reason: String(text.dropFirst()))) }
        if text.isEmpty { return .failure(ProbeFailure(reason: "printed no mypy version")) }
        return .success(text)
    }
}

/// `PythonLocator.locate` without waiting: each candidate is probed by a child whose output and
/// exit arrive through the event loop, so a slow interpreter stalls nobody else (the daemon's way).
public final class PythonSearch {
    private let loop: EventLoop
    private let environment: [String: String]
    private let directory: String
    private var remaining: [String]
    private var attempts: [PythonLocator.Attempt] = []
    private var probe: CapturedProcess?
    private var completion: ((Result<PythonLocator.Interpreter, NoPythonWithMypy>) -> Void)?

    /// Starts probing at once; `completion` is called on the loop, once, unless cancelled.
    public init(flags: [String], environment: [String: String], directory: String, loop: EventLoop,
                completion: @escaping (Result<PythonLocator.Interpreter, NoPythonWithMypy>) -> Void) {
        self.loop = loop
        self.environment = environment
        self.directory = directory
        self.completion = completion
        remaining = PythonLocator.candidates(flags: flags, environment: environment, directory: directory)
        next()
    }

    deinit { cancel() }

    /// Stops probing; the completion is not called.
    public func cancel() {
        completion = nil
        probe?.cancel()
        probe = nil
    }

    /// The interpreter being probed now, if any.
    public private(set) var probing: String?

    private func next() {
        while let candidate = remaining.first {
            remaining.removeFirst()
            guard FileSystem.exists(candidate) else {
                attempts.append(PythonLocator.Attempt(path: candidate, reason: "not found"))
                continue
            }
            do {
                probing = candidate
                probe = try CapturedProcess(candidate, PythonLocator.probeArguments,
                                            environment: environment.map { "\($0.key)=\($0.value)" },
                                            directory: directory, loop: loop) { [weak self] termination, bytes in
                    self?.probed(candidate, termination, String(decoding: bytes, as: UTF8.self))
                }
                return
            } catch {
                attempts.append(PythonLocator.Attempt(path: candidate, reason: "could not be run"))
            }
        }
        finish(.failure(NoPythonWithMypy(attempts: attempts)))
    }

    private func probed(_ candidate: String, _ termination: Process.Termination?, _ text: String) {
        probe = nil
        probing = nil
        let status: Int32
        if case .exited(let code)? = termination { status = code } else { status = -1 }
        switch PythonLocator.probeOutcome(status: status, text: text) {
        case .success(let version):
            finish(.success(PythonLocator.Interpreter(path: candidate, mypyVersion: version)))
        case .failure(let failure):
            attempts.append(PythonLocator.Attempt(path: candidate, reason: failure.reason))
            next()
        }
    }

    private func finish(_ result: Result<PythonLocator.Interpreter, NoPythonWithMypy>) {
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }
}

/// No interpreter could import mypy: says exactly which were tried and how to fix it.
public struct NoPythonWithMypy: Error, Equatable, Sendable, CustomStringConvertible {
    public let attempts: [PythonLocator.Attempt]

    public var description: String {
        var lines = ["dmypy: no Python interpreter that can import mypy was found. Tried, in order:"]
        for attempt in attempts {
            lines.append("  \(attempt.path): \(attempt.reason)")
        }
        if attempts.isEmpty { lines.append("  (no candidates: set DMYPY_PYTHON)") }
        lines.append("Install mypy into the project's environment (for example `.venv/bin/python -m pip install 'mypy==\(EngineAdapter.pinnedMypyVersion)'`),")
        lines.append("or point DMYPY_PYTHON (or mypy's --python-executable) at an interpreter that has it.")
        return lines.joined(separator: "\n")
    }
}
