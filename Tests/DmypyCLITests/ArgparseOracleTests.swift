// The proof: for every case of the corpus, our parser must do exactly what
// mypy's dmypy parser does under Python 3.11's argparse (same namespace, same
// stdout and stderr text, same exit status), as reported by argparse_oracle.py.

import DmypyCLI
import Foundation
import Testing

/// The @files directory and the oracle's answers, computed once for the suite.
struct Fixture: Sendable {
    let directory: String
    let results: Result<[Case: Observed], any Error>

    /// Reads @files relative to the fixture directory (the oracle's cwd), with
    /// the library's reader so that failures are reported the same way.
    func readFile(_ path: String) throws -> String {
        try readArgumentsFile(path.hasPrefix("/") || path.isEmpty ? path : directory + "/" + path)
    }
}

let fixture: Fixture = {
    do {
        let directory = try Corpus.makeDirectory()
        let all = Corpus.handPicked + Corpus.widths + Corpus.generated
        return Fixture(directory: directory, results: Result { try Oracle.run(all, cwd: directory) })
    } catch {
        return Fixture(directory: "/nonexistent", results: .failure(error))
    }
}()

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
    }
}
