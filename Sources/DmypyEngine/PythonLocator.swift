import DmypySystem
import Glibc

/// Finds the Python that runs the engine: `--python-executable` / `DMYPY_PYTHON`, the project's
/// `.venv/bin/python` or `venv/bin/python`, then `python3` on PATH; the first that imports mypy.
public enum PythonLocator {
    /// An interpreter that can import mypy, and the mypy version it has.
    public struct Interpreter: Equatable, Sendable {
        public let path: String
        public let mypyVersion: String

        public init(path: String, mypyVersion: String) {
            self.path = path
            self.mypyVersion = mypyVersion
        }
    }

    /// One interpreter looked at, and why it was passed over.
    public struct Attempt: Equatable, Sendable {
        public let path: String
        public let reason: String

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
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

    /// Runs the interpreter once to ask for mypy's version, waiting for it (the client's way; the
    /// daemon starts the engine under each candidate instead and lets it say).
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

/// No interpreter could import mypy: says exactly which were tried and how to fix it.
public struct NoPythonWithMypy: Error, Equatable, Sendable, CustomStringConvertible {
    public let attempts: [PythonLocator.Attempt]

    public init(attempts: [PythonLocator.Attempt]) {
        self.attempts = attempts
    }

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
