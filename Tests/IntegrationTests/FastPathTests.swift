import Foundation
import Glibc
import Testing

/// The engine's fast path (`engine_fastpath.py`): after edits the daemon saw, mypy is handed exactly
/// the changed modules and the errors of modules the change cannot reach are carried forward.
/// Every answer must still be a fresh mypy run's, and the path must really be taken: by default
/// (and with `DMYPY_FAST_PATH=on`), never with `DMYPY_FAST_PATH=off`.
@Suite(.serialized) struct FastPathTests {
    /// Errors in four modules; `leaf` is imported by nothing, `core` by everyone.
    let project: [String: String] = [
        "core.py": "def value() -> int:\n    return 1\n",
        "a.py": "from core import value\nx: str = value()\n",
        "b.py": "from core import value\ny: bytes = value()\n",
        "c.py": "import core\ndef g() -> None:\n    z: str = core.value()\n",
        "leaf.py": "import core\nbad: str = 1\n",
    ]
    let files = ["core.py", "a.py", "b.py", "c.py", "leaf.py"]

    /// Makes an edit and waits (bounded) for the pre-check that saw it to finish.
    func edit(_ dir: URL, _ file: String, _ text: String, env: [String: String] = [:]) throws -> Harness.Fields {
        let before = try Harness.verboseStatus(dir, env: env)
        try Harness.write(dir, file, text)
        var fields = before
        let done = try Harness.eventually(every: 0.05) {
            fields = try Harness.verboseStatus(dir, env: env)
            return fields.int("change_generation") > before.int("change_generation")
                && fields.int("fast_path_checks") > before.int("fast_path_checks") && fields.bool("engine_busy") == false
        }
        if !done { Issue.record("no pre-check saw the edit of \(file): \(fields)") }
        return fields
    }

    @Test func leafAndCoreEditsMatchAFreshRunOnTheFastPath() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(project)
        defer { Harness.cleanUp(dir) }
        #expect(try Harness.dmypy(.ours, ["start"], in: dir, env: ["DMYPY_FAST_PATH": "on"]).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check"] + files, in: dir), files, in: dir, "first check")
        // How each is taken: without mypy's walk, unless the edit changes what the module imports
        // (the walk does the bookkeeping for that). The first edit comes after a build on mypy's
        // full path, whose walk leaves duplicate dependencies behind: not an import change.
        let known = "taken: the changed files were known"
        let walk = "taken: known changes; mypy's walk for the changed imports"
        let steps: [(String, String, String, String)] = [
            ("leaf edit: a function appended", "leaf.py", "import core\nbad: str = 1\ndef more() -> int:\n    return 'no'\n", known),
            ("leaf edit: its errors fixed", "leaf.py", "import core\nbad: int = 1\n", known),
            ("core edit: the signature changes", "core.py", "def value() -> str:\n    return '1'\n", known),
            ("core edit: back", "core.py", "def value() -> int:\n    return 1\n", known),
            ("an error target's module edited", "c.py", "import core\ndef g() -> None:\n    z: int = core.value()\ndef h() -> str:\n    return 1\n", known),
            ("a new import of a known module", "leaf.py", "import core\nimport a\nq: int = a.x\n", walk),
            ("after the walk, a leaf edit", "leaf.py", "import core\nimport a\nq: str = a.x\n", known),
        ]
        for (step, file, text, how) in steps {
            // The pre-check is the one that sees the edit; the check after it is answered from it.
            let fields = try edit(dir, file, text)
            try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check"] + files, in: dir), files, in: dir, step)
            #expect(fields["fast_path_last"] == how, "\(step): \(fields)")
        }
        #expect(try Harness.verboseStatus(dir).int("fast_path_taken") >= steps.count)
        // A new module is not a known change: mypy's full path, and still a fresh run's answer.
        let fields = try edit(dir, "d.py", "from core import value\nw: str = value()\n")
        #expect(fields["fast_path_last"]?.hasPrefix("not taken") == true, "\(fields)")
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check"] + files + ["d.py"], in: dir), files + ["d.py"], in: dir, "new module")
    }

    /// The same edits, starting from errors in four modules, on a copy under mypy's own dmypy:
    /// every answer of ours, taken on the fast path, is byte-identical to mypy's (order and
    /// summary line included), not only the same lines as a fresh run's.
    @Test func answersOnTheFastPathAreMypysDmypysByteForByte() throws {
        let check = SideBySide.Step.dmypy(["check"] + files)
        func taken(_ how: String) -> SideBySide.Step {
            .inspectOurs { dir in
                let fields = try Harness.verboseStatus(dir)
                #expect(fields["fast_path_last"] == how, "\(fields)")
            }
        }
        let known = "taken: the changed files were known"
        try SideBySide.run(project, [
            .dmypy(["start"]), check, check,
            .write("leaf.py", "import core\nbad: str = 1\ndef more() -> int:\n    return 'no'\n"), check, taken(known),
            .write("core.py", "def value() -> str:\n    return '1'\n"), check, taken(known),
            .write("c.py", "import core\ndef g() -> None:\n    z: int = core.value()\ndef h() -> str:\n    return 1\n"), check, taken(known),
            .write("core.py", "def value() -> int:\n    return 1\n"), check, taken(known),
            .write("leaf.py", "import core\nimport a\nq: int = a.x\n"), check,
            taken("taken: known changes; mypy's walk for the changed imports"),
            .write("a.py", "from core import value\nx: int = value() + 1\n"), check, taken(known),  // another size: mypy's watcher would miss a same-size edit
            .dmypy(["stop"]),
        ])
    }

    /// A module created in, then deleted from, the checked directory, and one created in a package
    /// whose importer named it before it existed (`pkg.extra` after `import pkg`: a failed lookup
    /// with no dependency, so only re-checking that importer's error removes it): each on the fast
    /// path, and byte-identical to mypy's dmypy, which crawls for them and re-checks every error.
    @Test func modulesCreatedAndDeletedAreAnsweredOnTheFastPathAsMypysDmypyDoes() throws {
        let project = [
            "core.py": "def value() -> int:\n    return 1\n",
            "c.py": "y: int = ''\n",
            "pkg/__init__.py": "",
            "pkg/user.py": "import pkg\nx: int = pkg.extra.value()\n",
        ]
        let check = SideBySide.Step.dmypy(["check", "."])
        let modules = SideBySide.Step.inspectOurs { dir in
            let fields = try Harness.verboseStatus(dir)
            #expect(fields["fast_path_last"] == "taken: known changes; mypy's walk for the new or removed modules", "\(fields)")
        }
        try SideBySide.run(project, [
            .dmypy(["start"]), check, check,
            .write("new.py", "import core\nz: str = core.value()\n"), check, modules,
            .write("new.py", "import core\nz: str = core.value()\nw: bytes = core.value()\n"), check,
            .remove("new.py"), check, modules,
            .write("pkg/extra.py", "def value() -> int:\n    return 1\n"), check, modules,
            .dmypy(["stop"]),
        ])
    }

    /// `x: a.A` with no `A` in `a`: mypy records no dependency for the failed lookup, so adding
    /// `A` triggers nothing, and the error may not be carried (the oracle's testAliasFineAdded).
    @Test func anErrorOfAFailedLookupGoesWhenTheNameIsAdded() throws {
        try Harness.requireMypy()
        let dir = try Harness.project(["a.py": "B = str\n", "b.py": "import a\nx: a.A\n", "c.py": "y: int = ''\n"])
        defer { Harness.cleanUp(dir) }
        let files = ["a.py", "b.py", "c.py"]
        #expect(try Harness.dmypy(.ours, ["start"], in: dir, env: ["DMYPY_FAST_PATH": "on"]).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check"] + files, in: dir), files, in: dir, "first check")
        let fields = try edit(dir, "a.py", "B = str\nA = int\n")
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check"] + files, in: dir), files, in: dir, "A added")
        #expect(fields["fast_path_last"]?.hasPrefix("taken") == true, "\(fields)")
    }

    /// After `dmypy check .` mypy records a module as `./b.py`; a same-size edit within the same
    /// second (mtime put back) must still be seen, on the fast path and on mypy's. (`invalidate`
    /// looked for the absolute and relative names only: the oracle's three "differences" were this.)
    @Test(arguments: ["on", "off"])
    func aSameSizeEditUnderTheTargetDotIsSeen(_ setting: String) throws {
        try Harness.requireMypy()
        let dir = try Harness.project(project)
        defer { Harness.cleanUp(dir) }
        let env = ["DMYPY_FAST_PATH": setting]
        #expect(try Harness.dmypy(.ours, ["start"], in: dir, env: env).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "."], in: dir, env: env), ["."], in: dir, "first check")
        // Written aside with the old mtime, then renamed over (as editors save): the daemon never
        // sees the new text with a new mtime, so only its event can tell mypy of the change.
        let fm = FileManager.default
        let file = dir.appendingPathComponent("core.py")
        let aside = dir.appendingPathComponent("core.py.new")
        let before = try fm.attributesOfItem(atPath: file.path)
        try Harness.write(dir, "core.py.new", "def value() -> str:\n    return 1\n")  // int -> str: same size
        try fm.setAttributes([.modificationDate: before[.modificationDate]!], ofItemAtPath: aside.path)
        #expect(rename(aside.path, file.path) == 0)
        let after = try fm.attributesOfItem(atPath: file.path)
        #expect(after[.size] as? Int == before[.size] as? Int)
        func second(_ attributes: [FileAttributeKey: Any]) -> Int? {  // what mypy's watcher compares
            (attributes[.modificationDate] as? Date).map { Int($0.timeIntervalSince1970) }
        }
        #expect(second(after) == second(before))
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check", "."], in: dir, env: env), ["."], in: dir, "same-size edit")
    }

    /// On unless switched off: a daemon started with nothing set takes it, one started with
    /// `DMYPY_FAST_PATH=off` (or `0`) never does, and both answer as a fresh run.
    @Test(arguments: ["unset", "off", "0"])
    func itIsOnUnlessSwitchedOff(_ setting: String) throws {
        try Harness.requireMypy()
        let dir = try Harness.project(project)
        defer { Harness.cleanUp(dir) }
        let env = setting == "unset" ? [:] : ["DMYPY_FAST_PATH": setting]
        #expect(try Harness.dmypy(.ours, ["start"], in: dir, env: env).status == 0)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check"] + files, in: dir, env: env), files, in: dir, "first check")
        let fields = try edit(dir, "leaf.py", "import core\nbad: str = 1\ndef more() -> int:\n    return 'no'\n", env: env)
        try Harness.expectSameAsFreshMypy(try Harness.dmypy(.ours, ["check"] + files, in: dir, env: env), files, in: dir, "leaf edit")
        if setting == "unset" {
            #expect(fields.int("fast_path_taken") >= 1, "\(fields)")
            #expect(fields["fast_path_last"]?.hasPrefix("taken") == true, "\(fields)")
        } else {
            #expect(fields.int("fast_path_taken") == 0, "\(fields)")
            #expect(fields["fast_path_last"] == "not taken: DMYPY_FAST_PATH=off", "\(fields)")
        }
    }
}
