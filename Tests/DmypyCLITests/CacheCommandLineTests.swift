import DmypyCLI
import Testing

/// `dmypy cache …` is ours: recognised only as the first argument, parsed as argparse words it.
@Suite struct CacheCommandLineTests {
    @Test func pushTakesItsOptionsThenMypysFlagsAfterTheSeparator() {
        #expect(parseOwnCommand(["cache", "push", "--remote", "s3://b/p", "--commit=abc", "--", "--strict", "pkg"])
            == .run(.cache(.push(remote: "s3://b/p", commit: "abc", flags: ["--strict", "pkg"]))))
        #expect(parseOwnCommand(["cache", "push", "pkg"]) == .run(.cache(.push(remote: nil, commit: nil, flags: ["pkg"]))))
    }

    @Test func pullAndStatus() {
        #expect(parseOwnCommand(["cache", "pull"]) == .run(.cache(.pull(remote: nil, flags: []))))
        #expect(parseOwnCommand(["cache", "status", "--remote=file:///srv/c", "--", "-v", ""])
            == .run(.cache(.status(remote: "file:///srv/c", flags: ["-v", ""]))))
    }

    @Test func fetchIsTheEnginesPlumbing() {
        #expect(parseOwnCommand(["cache", "fetch", "--location", "s3://b", "--key", "k", "--into", "/tmp/x", "--timeout", "2.5"])
            == .run(.cache(.fetch(location: "s3://b", key: "k", into: "/tmp/x", timeout: 2.5))))
        guard case .exit(2, _, let stderr)? = parseOwnCommand(["cache", "fetch", "--key", "k"]) else {
            Issue.record("fetch without its options must be a usage error")
            return
        }
        #expect(stderr.contains("fetch needs --location, --key and --into"))
    }

    @Test func usageErrorsAndHelp() {
        guard case .exit(2, "", let missing)? = parseOwnCommand(["cache"]),
              case .exit(2, "", let invalid)? = parseOwnCommand(["cache", "push2"]),
              case .exit(2, "", let unknown)? = parseOwnCommand(["cache", "pull", "--strict"]),
              case .exit(2, "", let noValue)? = parseOwnCommand(["cache", "push", "--commit"]),
              case .exit(0, let help, "")? = parseOwnCommand(["cache", "status", "-h"]) else {
            Issue.record("expected usage errors and help")
            return
        }
        #expect(missing == "usage: dmypy cache [-h] {push,pull,status} ...\ndmypy cache: error: the following arguments are required: {push,pull,status}\n")
        #expect(invalid.hasSuffix("invalid choice: 'push2' (choose from 'push', 'pull', 'status')\n"))
        #expect(unknown.hasSuffix("unrecognized arguments: --strict (mypy's flags go after --)\n"))
        #expect(noValue.hasSuffix("argument --commit: expected one argument\n"))
        #expect(help.hasPrefix("usage: dmypy cache [-h] {push,pull,status} ...\n"))
    }

    @Test func listedAmongOurCommands() {
        #expect(ownCommandNames.map(\.name).contains("cache"))
        #expect(ownCommandsHelp.contains("  cache  "))
    }
}
