// The command lines the suite puts to both parsers, and the @files they use.

import Foundation

enum Corpus {
    /// Hand-picked cases: every subcommand and option, and argparse's corners.
    static let handPicked: [Case] = [
        // The top-level parser.
        [], ["-h"], ["--help"], ["--he"], ["-V"], ["--version"], ["--vers"], ["-Vx"], ["-Vh"], ["-hV"],
        ["--status-file", "x.json", "status"], ["--status-file=x.json", "status"], ["--stat", "f", "stop"],
        ["--status-file"], ["--status-file", "start"], ["--status-file", "-V"], ["--status-file=", "kill"],
        ["--status-file", "a", "--status-file", "b", "kill"], ["--status-file=--", "status"],
        ["--=x"], ["start", "--=x"], ["--", "start"], ["-", "start"], ["foo"], ["Start"], ["-x"], ["-5"],
        ["--foo", "start", "--bar"], ["--foo", "x", "start"], ["-V", "--foo"], ["--foo", "-V"], ["foo", "-V"],
        ["help"], ["help", "-h"], ["help", "foo"], ["stop", "extra"], ["hang"], ["kill", "-h"], ["stop", "--he"],
        ["stop", "--=x"], ["hang", "-hx"],
        // start / restart
        ["start"], ["start", "--timeout", "5", "--", "--follow-imports=skip"],
        ["start", "--timeout=5", "--log-file", "log.txt", "--", "--strict", "a.py"],
        ["start", "--time", "5"], ["start", "--t", "3"], ["start", "--l", "f"], ["start", "--timeout", "x"],
        ["start", "--timeout", "-5"], ["start", "--timeout", " 7 "], ["start", "--timeout", "1_000"],
        ["start", "--timeout", "1__0"], ["start", "--timeout", "_1"], ["start", "--timeout", "+0"],
        ["start", "--timeout", "\u{0665}"], ["start", "--timeout", "\u{FF15}"], ["start", "--timeout", "\u{A0}5\u{3000}"],
        ["start", "--timeout", "5\u{1C}"], ["start", "--timeout", "0x10"], ["start", "--timeout", "1.5"],
        ["start", "--timeout", ""], ["start", "--timeout="], ["start", "--timeout", "5x"],
        ["start", "--timeout", "'quoted'"], ["start", "--timeout", "it's"], ["start", "--timeout", "both'\""],
        ["start", "--timeout", "tab\there\nnl\\"], ["start", "--timeout", "\u{1F600}\u{200B}\u{7F}\u{85}\u{E9}"],
        ["start", "--timeout", "\u{10FFFF}\u{E000}\u{2028}"], ["start", "--timeout", "\u{1FAE8}\u{0378}"],
        ["start", "--timeout", "\u{11F55}"], ["start", "-\u{11F55}"], ["start", "-\u{0665}\u{0665}.\u{0661}"],
        ["status", "--verbose\u{301}"], ["status", "-\u{301}v"], ["-\u{212A}"], ["st\u{0301}art"], ["\u{212A}ill"],
        ["status", "--fs\u{0301}=x"], ["start", "--timeout=\u{1F600}"],
        ["start", "--timeout"], ["start", "--timeout", "--log-file", "x"], ["start", "--log-file=--"],
        ["start", "--timeout=--"], ["start", "--strict"], ["start", "-V"], ["start", "foo", "--timeout", "3", "bar"],
        ["start", "--", "a", "--", "b"], ["start", "--", "-5"], ["start", "-5"], ["start", "-.5"], ["start", "-5e3"],
        ["start", "-1\n"], ["start", "-1\n\n"], ["start", "-x y"], ["start", "--x y"], ["start", "-\u{0665}"],
        ["start", "", "x"], ["start", "-h"], ["restart", "-h"],
        ["restart", "--log-file", "f", "--", "--python-version", "3.11"], ["restart", "--timeout", "7", "a"],
        // status
        ["status"], ["status", "-v"], ["status", "--verbose"], ["status", "--verb"], ["status", "-vv"],
        ["status", "--fswatcher-dump-file", "d.json"], ["status", "--fs=d"], ["status", "-v", "--fswatcher-dump-file"],
        ["status", "-vx"], ["status", "-v=1"], ["status", "-v="], ["status", "--verbose=1"], ["status", "--verbose="],
        ["status", "-vh"], ["status", "-h"],
        // check
        ["check"], ["check", "a.py"], ["check", "-v", "a.py", "b.py"], ["check", "a.py", "--export-types", "b.py"],
        ["check", "--junit-xml", "j.xml", "--perf-stats-file", "p.json", "a.py"], ["check", "-q", "a.py"],
        ["check", "--quiet", "a.py"], ["check", "--qu", "a.py"], ["check", "-vq", "a.py"], ["check", "--", "-a.py"],
        ["check", "-a.py"], ["check", "--junit-xml"], ["check", "a.py", "--junit"], ["check", "--e", "a.py"],
        ["check", "--", "--"], ["check", "a", "--", "b", "--"], ["check", "--verbose", "--", "x"],
        ["check", "--junit-xml=j", "--", "--junit-xml", "k"], ["check", "-h"], ["check", "-q", "-h"],
        // run
        ["run"], ["run", "--", "--strict", "src/"], ["run", "src/", "--", "--strict"],
        ["run", "-v", "--timeout", "10", "--", "."], ["run", "--export-types", "--log-file", "l", "--", "x"],
        ["run", "--timeout", "1.5"], ["run", "--strict"], ["run", "a", "-v", "b"], ["run", "--junit-xml=--"],
        ["run", "--perf-stats-file", "p", "--", "--perf-stats-file", "q"], ["run", "--ex", "--", "a"], ["run", "-h"],
        // recheck
        ["recheck"], ["recheck", "--update", "a.py", "b.py", "--remove", "c.py"], ["recheck", "--update"],
        ["recheck", "--remove"], ["recheck", "--update", "--remove"], ["recheck", "--update", "a", "--update", "b"],
        ["recheck", "--update=a"], ["recheck", "--update=--"], ["recheck", "--update=", "x"], ["recheck", "a.py"],
        ["recheck", "--re", "x"], ["recheck", "--u", "x", "--", "y"], ["recheck", "-v", "-q", "--export-types"],
        ["recheck", "--junit-xml", "j", "--perf-stats-file", "p"], ["recheck", "-h"],
        // suggest
        ["suggest"], ["suggest", "mod.func"], ["suggest", "--json", "--no-errors", "--no-any", "--callsites", "m.f"],
        ["suggest", "--no", "m.f"], ["suggest", "--no-e", "m.f"], ["suggest", "--flex-any", "0.5", "f"],
        ["suggest", "--flex-any", "abc", "f"], ["suggest", "--flex-any", "inf", "f"], ["suggest", "--flex-any", "-nan", "f"],
        ["suggest", "--flex-any", "+NaN", "f"], ["suggest", "--flex-any", "-Infinity", "f"],
        ["suggest", "--flex-any", "1e400", "f"], ["suggest", "--flex-any", "1e-400", "f"], ["suggest", "--flex-any", "-.5", "f"],
        ["suggest", "--flex-any", "5.", "f"], ["suggest", "--flex-any", ".", "f"], ["suggest", "--flex-any", "1e", "f"],
        ["suggest", "--flex-any", "0x1p3", "f"], ["suggest", "--flex-any", "\u{0661}.\u{0665}", "f"],
        ["suggest", "--flex-any", " \u{0B}1.5\u{0C} ", "f"], ["suggest", "--flex-any", "0.1", "f"],
        ["suggest", "--flex-any", "2.2250738585072011e-308", "f"], ["suggest", "--flex-any", "1_0.2_5e1_0", "f"],
        ["suggest", "--flex-any", "1_.5", "f"], ["suggest", "--flex-any", "infinit", "f"],
        ["suggest", "--flex-any", "1e999999999999999999999", "f"], ["suggest", "--flex-any", "-1e-99999999999999999999", "f"],
        ["suggest", "--flex-any", "0e99999999999999999999", "f"],
        ["suggest", "--flex-any", "0." + String(repeating: "0", count: 500) + "1e400", "f"],
        ["suggest", "--flex-any", String(repeating: "9", count: 400) + ".5", "f"],
        ["suggest", "--flex-any", "4.9406564584124654e-324", "f"], ["suggest", "--flex-any", "2.4703282292062328e-324", "f"],
        ["suggest", "--max-guesses", String(repeating: "0", count: 4300) + "5", "f"],
        ["suggest", "--max-guesses", String(repeating: "0", count: 4299) + "5", "f"],
        ["suggest", "--flex-any=1_0.2_5", "f"], ["suggest", "--flex-any=--", "f"],
        ["suggest", "--use-fixme", "FIXME", "--max-guesses", "10", "f"], ["suggest", "--max-guesses", "1.5", "f"],
        ["suggest", "f", "g"], ["suggest", "--", "--", "f"], ["suggest", "--", "-f"], ["suggest", "f", "--"],
        ["suggest", "--j", "f"], ["suggest", "--m", "3", "f"], ["suggest", "-h"],
        // inspect
        ["inspect"], ["inspect", "a.py:1:2"], ["inspect", "--show", "attrs", "a.py:1:2"], ["inspect", "--show", "bogus", "x"],
        ["inspect", "--show=definition", "x"], ["inspect", "--show=", "x"], ["inspect", "--show=--", "x"],
        ["inspect", "--show", "--", "x"], ["inspect", "--show", "it's", "x"], ["inspect", "-v", "-v", "x"],
        ["inspect", "-vvv", "x"], ["inspect", "--verbose", "--verbose", "x"], ["inspect", "--v", "x"],
        ["inspect", "-vv=", "x"], ["inspect", "-vh", "x"], ["inspect", "--limit", "3", "x"], ["inspect", "--limit", "x", "y"],
        ["inspect", "--limit", "-1", "x"], ["inspect", "--include-span", "--include-kind", "--include-object-attrs",
                                             "--union-attrs", "--force-reload", "x"],
        ["inspect", "--include", "x"], ["inspect", "--include-s", "x"], ["inspect", "--in", "x"], ["inspect", "x", "y"],
        ["inspect", "-h"],
        // daemon (with dmypy-swift's hidden --ready-fd)
        ["daemon"], ["daemon", "--timeout", "5", "--log-file", "l", "--", "--strict"], ["daemon", "--options-data", "abc"],
        ["daemon", "--ready-fd", "3"], ["daemon", "--ready-fd=7", "--", "x"], ["daemon", "--ready-fd", "x"],
        ["daemon", "--ready-fd", "4294967296"], ["daemon", "--ready-fd", "-2147483648"], ["daemon", "--ready-fd", "2147483648"],
        ["daemon", "--r", "3"], ["daemon", "--o", "d"], ["daemon", "--ready-fd=--"], ["daemon", "-h"],
        // @files
        ["@args1.txt"], ["@missing.txt"], ["@"], ["@dir"], ["check", "@files.txt"], ["@nested.txt"],
        ["run", "--", "@flags.txt"], ["@crlf.txt"], ["@seps.txt"], ["@noeol.txt"], ["@empty.txt"], ["@spaces.txt"],
        ["@bom.txt"], ["@unicode.txt"], ["@chain.txt"], ["start", "@@x"], ["start", "--log-file", "@noeol.txt"],
        ["--status-file", "@args1.txt"],
    ].map { Case(argv: $0) }

    /// Help, usage and error output at every width from 1 to 140 columns.
    static let widths: [Case] = {
        let subcommands = ["start", "restart", "status", "stop", "kill", "check", "run", "recheck",
                           "suggest", "inspect", "hang", "daemon", "help"]
        let argvs: [[String]] = [[], ["-h"], ["help"], ["frob"], ["check"], ["inspect", "--show", "x", "y"],
                                 ["run", "--timeout"], ["x", "--status-file"]]
            + subcommands.map { [$0, "-h"] }
        return argvs.flatMap { argv in (1...140).map { Case(argv: argv, columns: $0) } }
    }()

    /// Random command lines: mostly well-formed pieces of one subcommand's
    /// grammar in random order, salted with tokens from everywhere else.
    static let generated: [Case] = {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let common: [[String]] = [["-v"], ["--verbose"], ["--verb"], ["--junit-xml", "j.xml"], ["--junit-xml=j"],
                                  ["--perf-stats-file", "p"], ["--perf=p"], ["--export-types"], ["--ex"]]
        let daemonish: [[String]] = [["--timeout", "5"], ["--timeout=9"], ["--time", "-3"], ["--log-file", "l"],
                                     ["--log-file=x"], ["--lo", "y"], ["--"], ["--strict"], ["a.py"], ["-5"]]
        let grammar: [String: [[String]]] = [
            "start": daemonish, "restart": daemonish,
            "daemon": daemonish + [["--options-data", "b64"], ["--ready-fd", "3"], ["--ready-fd=4"], ["--opt=x"]],
            "status": [["-v"], ["--verbose"], ["--fswatcher-dump-file", "d"], ["--fs=e"], ["-vv"]],
            "check": common + [["-q"], ["--quiet"], ["-vq"], ["a.py"], ["b.py"], ["--"], ["src/"]],
            "run": common + daemonish,
            "recheck": common + [["-q"], ["--update"], ["--update", "a.py"], ["--update=b.py"], ["--remove", "c.py"],
                                 ["--remove"], ["--re", "d.py"], ["e.py"]],
            "suggest": [["--json"], ["--no-errors"], ["--no-any"], ["--no-a"], ["--flex-any", "0.5"], ["--flex-any=1e-3"],
                        ["--callsites"], ["--use-fixme", "FIXME"], ["--max-guesses", "8"], ["--max=2"], ["m.f"]],
            "inspect": [["--show", "attrs"], ["--show=definition"], ["--show", "type"], ["-v"], ["-vv"], ["--verbose"],
                        ["--limit", "2"], ["--limit=0"], ["--include-span"], ["--include-kind"],
                        ["--include-object-attrs"], ["--union-attrs"], ["--force-reload"], ["--force"], ["x.py:1:2"]],
            "stop": [], "kill": [], "hang": [], "help": [],
        ]
        let subcommands = grammar.keys.sorted()
        let noise = ["-h", "-V", "--", "-", "-x", "--x", "--bogus", "5", "", "a b", "-a b", "@args1.txt",
                     "@files.txt", "@missing.txt", "--=v", "-v=", "it's", "--status-file", "--no", "--include",
                     "--show", "--timeout", "--limit", "--update", "chec", "start", "-1.5", "--flex-any"]
        var cases: [Case] = []
        for round in 0..<1000 {
            var argv: [String] = []
            if next(5) == 0 { argv += [["--status-file", "s"], ["--status-file=t"], ["--stat", "u"], ["-V"]][next(4)] }
            let subcommand = subcommands[next(subcommands.count)]
            if next(12) != 0 { argv.append(subcommand) }
            let units = grammar[subcommand] ?? []
            for _ in 0..<next(7) {
                if units.isEmpty || next(round % 3 == 0 ? 3 : 10) == 0 {
                    argv.append(noise[next(noise.count)])
                } else {
                    argv += units[next(units.count)]
                }
            }
            cases.append(Case(argv: argv, columns: [40, 80, 123][next(3)]))
        }
        return cases
    }()

    /// The @files, by name (relative to the current directory of both parsers).
    static let files: [String: String] = [
        "args1.txt": "start\n--timeout\n5\n",
        "files.txt": "a.py\n\nb.py\n",
        "nested.txt": "@args1.txt\n--log-file\nlog\n",
        "flags.txt": "--strict\n--python-version\n3.11\n",
        "crlf.txt": "status\r\n-v\r\n",
        "seps.txt": "check\u{2028}x.py\u{0B}y.py\u{1C}z.py\u{85}w.py\rv.py\u{0C}u.py\u{1D}t.py\u{1E}s.py\u{2029}",
        "noeol.txt": "stop",
        "empty.txt": "",
        "spaces.txt": "start\n-- \n --strict\n\t-x\n",
        "bom.txt": "\u{FEFF}stop\n",
        "unicode.txt": "inspect\n--show\n\u{E9}t\u{E9}\n",
        "chain.txt": "status\n@missing2.txt\n",
    ]

    static func makeDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dmypy-cli-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("dir"), withIntermediateDirectories: true)
        for (name, text) in files {
            try Data(text.utf8).write(to: directory.appendingPathComponent(name))
        }
        return directory.path
    }
}
