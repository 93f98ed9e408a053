// The proof: for every case of the corpus, our parser must do exactly what
// mypy's dmypy parser does under Python 3.11's argparse (same namespace, same
// stdout and stderr text, same exit status), as reported by argparse_oracle.py.

import DmypyCLI
import Foundation
import Testing

/// The oracle's answers, computed once for the suite (argparse reads the @files
/// from a scratch directory that is deleted right after).
struct Fixture: Sendable {
    let results: Result<[Case: Observed], any Error>

    /// Our side reads the same @files from memory; "dir" is a directory, and
    /// anything else does not exist.
    func readFile(_ path: String) throws -> String {
        if let text = Corpus.files[path] { return text }
        throw ArgumentsFileError(errno: path == "dir" ? EISDIR : ENOENT)
    }
}

let fixture = Fixture(results: Result {
    let directory = try Corpus.makeDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try Oracle.run(Corpus.handPicked + Corpus.widths + Corpus.generated, cwd: directory)
})

/// Compares one case; returns a failure description, or nil when they agree.
func mismatch(_ testCase: Case) -> String? {
    let results: [Case: Observed]
    switch fixture.results {
    case .success(let value): results = value
    case .failure(let error): return String(describing: error)
    }
    guard let expected = results[testCase] else { return "no oracle result for \(testCase)" }
    if let crash = expected.crash { return "argparse itself crashed on \(testCase): \(crash)" }
    let outcome = parseCommandLine(testCase.argv, columns: testCase.columns, readFile: fixture.readFile)
    let ours = Observed(outcome, columns: testCase.columns)
    if ours == expected { return nil }
    return "\(testCase)\n--- argparse:\n\(expected)\n--- dmypy-swift:\n\(ours)"
}

@Suite("Parsing like argparse")
struct ArgparseOracleTests {
    @Test("hand-picked command lines", arguments: Corpus.handPicked)
    func handPicked(_ testCase: Case) {
        let failure = mismatch(testCase)
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test("help, usage and errors at every width from 1 to 140 columns")
    func everyWidth() {
        let failures = Corpus.widths.compactMap(mismatch)
        let count = failures.count
        #expect(count == 0, "\(count) of \(Corpus.widths.count) differ; first:\n\(failures.first ?? "")")
    }

    @Test("generated command lines")
    func generated() {
        let failures = Corpus.generated.compactMap(mismatch)
        let count = failures.count
        #expect(count == 0, "\(count) of \(Corpus.generated.count) differ; first:\n\(failures.first ?? "")")

        // The corpus must exercise successful parses as well as errors.
        let parsed = Corpus.generated.filter {
            if case .invocation = parseCommandLine($0.argv, columns: $0.columns, readFile: fixture.readFile) {
                return true
            }
            return false
        }.count
        #expect(parsed >= Corpus.generated.count / 4 && parsed <= Corpus.generated.count * 3 / 4)
    }
}
