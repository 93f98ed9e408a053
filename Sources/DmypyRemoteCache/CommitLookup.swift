import DmypyEngine
import DmypySystem

/// Which commits' caches suit a checkout, nearest first: the merge-base of HEAD with the default
/// remote branch (`origin/HEAD`, else `origin/main` or `origin/master`, else HEAD itself), then
/// its first-parent ancestors, at most `depth` in all. Asked of git, in the checkout.
public struct CommitLookup: Equatable, Sendable {
    public var head: String
    /// HEAD names no branch (a CI checkout, a bisect): the lookup still starts from its commit.
    public var detached: Bool
    /// The branch the merge-base was taken with (nil: none was found; HEAD is the base).
    public var baseBranch: String?
    public var candidates: [String]

    public static let defaultDepth = 20
}

/// Why no commit can be looked up (a cold build, and this in `cache status`).
public enum CommitLookupProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case gitMissing
    case notARepository
    case noCommits
    case failed(String)

    public var description: String {
        switch self {
        case .gitMissing: return "git is not installed"
        case .notARepository: return "the project is not in a git repository"
        case .noCommits: return "the repository has no commits yet"
        case .failed(let what): return "git failed: \(what)"
        }
    }
}

extension CommitLookup {
    /// The lookup for the checkout in `directory`.
    public static func find(directory: String, environment: [String: String], depth: Int = defaultDepth)
        -> Result<CommitLookup, CommitLookupProblem>
    {
        let git = Git(directory: directory, environment: environment)
        guard let git else { return .failure(.gitMissing) }
        guard git.run("rev-parse", "--is-inside-work-tree")?.text == "true" else { return .failure(.notARepository) }
        guard let head = git.run("rev-parse", "--verify", "-q", "HEAD^{commit}")?.text, !head.isEmpty else { return .failure(.noCommits) }
        let detached = git.run("symbolic-ref", "-q", "HEAD") == nil
        var branch = git.run("symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD")?.text
        if branch == nil {
            branch = ["origin/main", "origin/master"].first { git.run("rev-parse", "--verify", "-q", "refs/remotes/\($0)^{commit}") != nil }
        }
        var base = head
        if let branch, let mergeBase = git.run("merge-base", "HEAD", branch)?.text, !mergeBase.isEmpty {
            base = mergeBase
        } else {
            branch = nil
        }
        guard let list = git.run("rev-list", "--first-parent", "--max-count=\(max(1, depth))", base) else {
            return .failure(.failed("rev-list \(base)"))
        }
        let candidates = list.text.split(separator: "\n").map(String.init)
        return .success(CommitLookup(head: head, detached: detached, baseBranch: branch, candidates: candidates.isEmpty ? [base] : candidates))
    }

    /// HEAD's commit (what `cache push` stores a cache under).
    public static func head(directory: String, environment: [String: String]) -> Result<String, CommitLookupProblem> {
        guard let git = Git(directory: directory, environment: environment) else { return .failure(.gitMissing) }
        guard git.run("rev-parse", "--is-inside-work-tree")?.text == "true" else { return .failure(.notARepository) }
        guard let head = git.run("rev-parse", "--verify", "-q", "HEAD^{commit}")?.text, !head.isEmpty else { return .failure(.noCommits) }
        return .success(head)
    }
}

/// git, run to completion in one directory; nil when a command fails.
struct Git {
    let executable: String
    let directory: String
    let environment: [String: String]

    init?(directory: String, environment: [String: String]) {
        guard let executable = PythonLocator.searchPath("git", path: environment["PATH"] ?? "/usr/bin:/bin") else { return nil }
        self.executable = executable
        self.directory = directory
        var environment = environment
        environment["GIT_TERMINAL_PROMPT"] = "0"
        environment["LC_ALL"] = "C"
        self.environment = environment
    }

    func run(_ arguments: String...) -> (text: String, status: Int32)? {
        guard let result = try? Process.runCapturingOutput(executable, ["-C", directory] + arguments, environment: environment,
                                                            directory: directory),
              result.status == 0 else { return nil }
        return (result.text.trimmingWhitespace, result.status)
    }
}

extension String {
    var trimmingWhitespace: String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        while let first = text.first, first.isWhitespace { text = text.dropFirst() }
        return String(text)
    }
}
