import Foundation
import Glibc
import Testing

/// The two ways in without Swift (issue 15), on the real artefacts of `make dist` (tools/test
/// runs it first): the wheel installed by real pip into fresh virtual environments next to mypy,
/// what pip does to `bin/dmypy` in every order the README describes, auditwheel's verdict; the
/// Debian package's fields, contents and lintian's verdict, its binary run unpacked, and the
/// package installed for real by dpkg inside the systemd sandbox, where the installed units (and
/// then those `dmypy install-units` writes for the wheel's binary) activate the daemon.
@Suite(.serialized) struct PackagingTests {
    // MARK: the artefacts

    static let dist = Harness.root.appendingPathComponent("dist")
    static let toolsPython = Harness.root.appendingPathComponent(".venv-tools/bin/python").path
    static let auditwheel = Harness.root.appendingPathComponent(".venv-tools/bin/auditwheel").path
    static let pinnedMypy = "2.4.1"
    /// An older mypy of the supported series, for the upgrade the README describes.
    static let olderMypy = "2.4.0"

    static func version() throws -> String {
        let result = try run(Harness.root.appendingPathComponent("packaging/version.sh").path, [], in: Harness.root)
        try #require(result.status == 0, "packaging/version.sh: \(result)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The one file in dist/ whose name starts with `prefix` and ends with `suffix`, as `make dist`
    /// leaves it (it removes older ones).
    static func artefact(_ prefix: String, _ suffix: String) throws -> URL {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dist.path)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(suffix) }
        try #require(names.count == 1, "dist/ should hold exactly one \(prefix)…\(suffix) (run `make dist`; tools/test does): \(names)")
        return dist.appendingPathComponent(names[0])
    }

    static func wheel() throws -> URL { try artefact("dmypy_swift-\(try version())-py3-none-manylinux_", "_x86_64.whl") }
    static func package() throws -> URL { try artefact("dmypy-swift_\(try version())_amd64", ".deb") }

    // MARK: running things

    static let systemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// A plain environment: no DMYPY_PYTHON, no user daemon (XDG_RUNTIME_DIR, DMYPY_SOCKET), HOME
    /// kept (pip's cache).
    static func plainEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env: [String: String] = ["PATH": systemPath, "LANG": "C.UTF-8", "COLUMNS": "80",
                                     "PIP_DISABLE_PIP_VERSION_CHECK": "1"]
        env["HOME"] = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        for (key, value) in extra { env[key] = value }
        return env
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: URL, env: [String: String] = plainEnvironment(),
                    timeout: Double = 300) throws -> Harness.Result {
        try Harness.run(executable: executable, arguments: arguments, in: directory, env: env, timeout: timeout)
    }

    static func temporaryDirectory(_ name: String) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dmypy-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The newest GLIBC_2.N the binary's dynamic symbols need (objdump -T), as (2, N).
    static func glibcNeeded(_ binary: String) throws -> (Int, Int) {
        let symbols = try run("/usr/bin/objdump", ["-T", binary], in: Harness.root)
        try #require(symbols.status == 0, "objdump -T: \(symbols)")
        let regex = try NSRegularExpression(pattern: #"\bGLIBC_2\.(\d+)"#)
        let text = symbols.stdout
        let minors = regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).flatMap { Int(text[$0]) }
        }
        return (2, try #require(minors.max(), "no GLIBC_ symbol versions in \(binary)"))
    }

    static func needed(_ binary: String) throws -> [String] {
        let dynamic = try run("/usr/bin/objdump", ["-p", binary], in: Harness.root)
        try #require(dynamic.status == 0, "objdump -p: \(dynamic)")
        return dynamic.stdout.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            return words.first == "NEEDED" ? words.last.map(String.init) : nil
        }
    }

    // MARK: a virtual environment

    /// A fresh virtual environment, made with the Python of the test's mypy (`python -m venv`
    /// makes it from that venv's base interpreter).
    struct Venv {
        let directory: URL
        var bin: String { directory.appendingPathComponent("bin").path }
        var dmypyPath: String { "\(bin)/dmypy" }

        init(in parent: URL) throws {
            directory = parent.appendingPathComponent("venv")
            let made = try PackagingTests.run(Harness.python, ["-m", "venv", directory.path], in: parent)
            try #require(made.status == 0, "python -m venv: \(made)")
        }

        /// The environment of a shell in which this venv is activated.
        var activated: [String: String] {
            PackagingTests.plainEnvironment(["PATH": "\(bin):\(PackagingTests.systemPath)", "VIRTUAL_ENV": directory.path])
        }

        @discardableResult
        func pip(_ arguments: [String]) throws -> Harness.Result {
            let result = try PackagingTests.run("\(bin)/python", ["-m", "pip"] + arguments, in: directory, env: activated)
            try #require(result.status == 0, "pip \(arguments.joined(separator: " ")): \(result)")
            return result
        }

        /// What `bin/dmypy` is.
        enum Script: Equatable { case ours, mypys, absent, other(String) }

        func dmypyScript(version: String) throws -> Script {
            guard let data = FileManager.default.contents(atPath: dmypyPath) else { return .absent }
            if data.starts(with: [0x7f, 0x45, 0x4c, 0x46]) {
                let reported = try PackagingTests.run(dmypyPath, ["--version"], in: directory, env: activated)
                return reported.stdout.hasSuffix("(dmypy-swift \(version))\n") ? .ours : .other("an ELF binary saying \(reported)")
            }
            let text = String(decoding: data, as: UTF8.self)
            return text.contains("from mypy.dmypy.client import console_entry") ? .mypys : .other(text)
        }

        func installed(_ name: String) throws -> Bool {
            try PackagingTests.run("\(bin)/python", ["-m", "pip", "show", "-q", name], in: directory, env: activated).status == 0
        }
    }

    // MARK: the wheel

    @Test func wheelHasTheBinaryTheMetadataAndTheTagAuditwheelFinds() throws {
        let version = try Self.version()
        let wheel = try Self.wheel()
        let work = try Self.temporaryDirectory("wheel")
        defer { try? FileManager.default.removeItem(at: work) }

        // wheel's own unpack checks every file against the RECORD's sha256 and size.
        let unpack = try Self.run(Self.toolsPython, ["-m", "wheel", "unpack", "-d", work.path, wheel.path], in: work)
        try #require(unpack.status == 0 && unpack.stdout.contains("OK"), "python -m wheel unpack: \(unpack)")
        let tree = work.appendingPathComponent("dmypy_swift-\(version)")
        let files = Set((FileManager.default.enumerator(atPath: tree.path)?.allObjects as? [String] ?? [])
            .filter { !FileSystemProbe.isDirectory(tree.appendingPathComponent($0).path) })
        let info = "dmypy_swift-\(version).dist-info"
        #expect(files == ["dmypy_swift-\(version).data/scripts/dmypy", "\(info)/METADATA", "\(info)/WHEEL",
                          "\(info)/RECORD", "\(info)/licenses/LICENSE"], "\(files.sorted())")

        // The binary: ours, executable, the Swift runtime linked in, the glibc its name says.
        let binary = tree.appendingPathComponent("dmypy_swift-\(version).data/scripts/dmypy").path
        #expect(FileManager.default.isExecutableFile(atPath: binary))
        let reported = try Self.run(binary, ["--version"], in: work)
        #expect(reported.status == 0 && reported.stdout.hasSuffix(" (dmypy-swift \(version))\n"), "\(reported)")
        let libraries = try Self.needed(binary)
        #expect(!libraries.isEmpty && !libraries.contains { $0.contains("swift") }, "NEEDED: \(libraries)")
        let (major, minor) = try Self.glibcNeeded(binary)
        let tag = "manylinux_\(major)_\(minor)_x86_64"
        #expect(wheel.lastPathComponent == "dmypy_swift-\(version)-py3-none-\(tag).whl", "\(wheel.lastPathComponent)")

        // auditwheel's own analysis (symbol versions of every library, the policy's whitelist).
        let audit = try Self.run(Self.auditwheel, ["show", wheel.path], in: work)
        let flat = audit.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(audit.status == 0 && flat.contains("is consistent with the following platform tag: \"\(tag)\""), "auditwheel show: \(audit)")

        // The metadata: name, version, license, URLs, the README as description, no dependency.
        let metadata = try String(contentsOf: tree.appendingPathComponent("\(info)/METADATA"), encoding: .utf8)
        let (headers, body) = try #require(Self.split(metadata))
        #expect(headers["Name"] == ["dmypy-swift"] && headers["Version"] == [version], "\(headers)")
        #expect(headers["License-Expression"] == ["MIT"] && headers["License-File"] == ["LICENSE"], "\(headers)")
        #expect(headers["Requires-Python"] == [">=3.10"], "\(headers)")
        #expect(headers["Requires-Dist"] == nil, "the wheel must not depend on mypy (or anything): \(headers)")
        #expect((headers["Project-URL"] ?? []).contains { $0.hasPrefix("Homepage, https://") }, "\(headers)")
        #expect(headers["Description-Content-Type"] == ["text/markdown"], "\(headers)")
        let readme = try String(contentsOf: Harness.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(body == readme, "the long description is not README.md")
        let license = try String(contentsOf: tree.appendingPathComponent("\(info)/licenses/LICENSE"), encoding: .utf8)
        #expect(license == (try String(contentsOf: Harness.root.appendingPathComponent("LICENSE"), encoding: .utf8)))
        let wheelFile = try String(contentsOf: tree.appendingPathComponent("\(info)/WHEEL"), encoding: .utf8)
        #expect(wheelFile.contains("Root-Is-Purelib: false\n") && wheelFile.contains("Tag: py3-none-\(tag)\n"), "\(wheelFile)")

        // The README names this version and this very file.
        #expect(readme.contains("dmypy-swift \(version)") && readme.contains(wheel.lastPathComponent),
                "README.md should name version \(version) and \(wheel.lastPathComponent)")
    }

    /// METADATA's headers (repeatable) and its body.
    static func split(_ metadata: String) -> ([String: [String]], String)? {
        guard let end = metadata.range(of: "\n\n") else { return nil }
        var headers: [String: [String]] = [:]
        for line in metadata[..<end.lowerBound].split(separator: "\n") {
            guard let colon = line.range(of: ": ") else { continue }
            headers[String(line[..<colon.lowerBound]), default: []].append(String(line[colon.upperBound...]))
        }
        return (headers, String(metadata[end.upperBound...]))
    }

    /// The README's commands, in a fresh venv: mypy first, then the wheel, so `dmypy` is ours and
    /// checks like mypy's; then what an upgrade of mypy and an uninstall of either does.
    @Test func wheelInAVenvWithMypyIsTheDmypyCommand() throws {
        try Harness.requireMypy()
        let version = try Self.version()
        let wheel = try Self.wheel().path
        let work = try Self.temporaryDirectory("venv")
        defer { try? FileManager.default.removeItem(at: work) }
        let venv = try Venv(in: work)
        func script() throws -> Venv.Script { try venv.dmypyScript(version: version) }

        // 1. The documented order: mypy (here the older 2.4.0), then ours. Ours replaces mypy's.
        try venv.pip(["install", "-q", "mypy==\(Self.olderMypy)"])
        #expect(try script() == .mypys)
        try venv.pip(["install", "-q", wheel])
        #expect(try script() == .ours, "after `pip install <wheel>` with mypy installed")

        // 2. An upgrade of mypy writes mypy's script again; a plain `pip install` of ours is then
        // "already satisfied" and changes nothing; `--force-reinstall --no-deps` puts ours back.
        try venv.pip(["install", "-q", "--upgrade", "mypy==\(Self.pinnedMypy)"])
        #expect(try script() == .mypys, "after upgrading mypy")
        try venv.pip(["install", "-q", wheel])
        #expect(try script() == .mypys, "a second plain `pip install <wheel>`")
        try venv.pip(["install", "-q", "--force-reinstall", "--no-deps", wheel])
        #expect(try script() == .ours, "after `pip install --force-reinstall --no-deps <wheel>`")

        // 3. From that environment (activated), ours checks like mypy's own dmypy.
        let env = venv.activated
        let theirsProject = try Harness.project(sampleProject), oursProject = try Harness.project(sampleProject)
        defer {
            Harness.cleanUp(theirsProject)
            Harness.cleanUp(oursProject)
        }
        let python = "\(venv.bin)/python"
        let theirVersion = try Self.run(python, ["-m", "mypy.dmypy", "--version"], in: theirsProject, env: env)
        let ourVersion = try Self.run("/usr/bin/env", ["dmypy", "--version"], in: oursProject, env: env)
        #expect(theirVersion.stdout == "dmypy \(Self.pinnedMypy)\n", "\(theirVersion)")
        #expect(ourVersion == .init(stdout: "dmypy \(Self.pinnedMypy) (dmypy-swift \(version))\n", stderr: "", status: 0), "\(ourVersion)")
        let theirRun = try Self.run(python, ["-m", "mypy.dmypy", "run", "--", "."], in: theirsProject, env: env)
        let theirStop = try Self.run(python, ["-m", "mypy.dmypy", "stop"], in: theirsProject, env: env)
        let ourRun = try Self.run("/usr/bin/env", ["dmypy", "run", "--", "."], in: oursProject, env: env)
        let ourStop = try Self.run("/usr/bin/env", ["dmypy", "stop"], in: oursProject, env: env)
        #expect(theirRun.status == 1 && theirRun.stdout.contains("Incompatible types in assignment"), "\(theirRun)")
        #expect(ourRun == theirRun, "dmypy run -- . from the venv:\n\(ourRun)\nmypy's dmypy:\n\(theirRun)")
        #expect(ourStop == theirStop && ourStop.stdout == "Daemon stopped\n", "ours: \(ourStop)\nmypy's: \(theirStop)")
        Harness.expectNoProcessesLeft(in: oursProject)

        // 4. Uninstalling mypy removes bin/dmypy (listed in mypy's RECORD), although it is ours;
        // pip still lists dmypy-swift. A forced reinstall of ours brings it back.
        try venv.pip(["uninstall", "-y", "-q", "mypy"])
        #expect(try script() == .absent, "after `pip uninstall mypy`")
        #expect(try venv.installed("dmypy-swift"))
        try venv.pip(["install", "-q", "--force-reinstall", "--no-deps", wheel])
        #expect(try script() == .ours)

        // 5. mypy installed after ours: mypy's script wins.
        try venv.pip(["install", "-q", "mypy==\(Self.pinnedMypy)"])
        #expect(try script() == .mypys, "mypy installed after ours")
        try venv.pip(["install", "-q", "--force-reinstall", "--no-deps", wheel])
        #expect(try script() == .ours)

        // 6. Uninstalling ours removes bin/dmypy; mypy's dmypy stays reachable as a module.
        try venv.pip(["uninstall", "-y", "-q", "dmypy-swift"])
        #expect(try script() == .absent, "after `pip uninstall dmypy-swift`")
        let module = try Self.run(python, ["-m", "mypy.dmypy", "--version"], in: work, env: env)
        #expect(module.stdout == "dmypy \(Self.pinnedMypy)\n", "\(module)")
    }

    /// Both in one pip command: pip installs ours (no dependencies) before mypy, whatever the
    /// order of the arguments, so mypy's script wins. The README says not to do this.
    @Test func oneCommandWithBothLeavesMypysScript() throws {
        let version = try Self.version()
        let wheel = try Self.wheel().path
        let work = try Self.temporaryDirectory("venv-both")
        defer { try? FileManager.default.removeItem(at: work) }
        let venv = try Venv(in: work)
        try venv.pip(["install", "-q", wheel, "mypy==\(Self.pinnedMypy)"])
        #expect(try venv.dmypyScript(version: version) == .mypys, "pip install <wheel> mypy")
        try venv.pip(["uninstall", "-y", "-q", "mypy", "dmypy-swift"])
        #expect(try venv.dmypyScript(version: version) == .absent)
        try venv.pip(["install", "-q", "mypy==\(Self.pinnedMypy)", wheel])
        #expect(try venv.dmypyScript(version: version) == .mypys, "pip install mypy <wheel>")
    }

    /// The README's newcomer path: `pipx install <wheel>`, then `dmypy run -- .` in a project
    /// whose .venv has mypy, with the Swift toolchain hidden (a tmpfs over its directory, in a
    /// private mount namespace): what mypy's own dmypy prints.
    @Test(.enabled(if: SystemdSandbox.mountNamespacesArePermitted, "unshare -m is not permitted here (EPERM)"))
    func newcomerPathWithPipxAndNoSwift() throws {
        let wheel = try Self.wheel().path
        let work = try Self.temporaryDirectory("pipx")
        let project = try Harness.project(sampleProject)
        let reference = try Harness.copy(project)
        defer {
            Harness.cleanUp(project)
            Harness.cleanUp(reference)
            try? FileManager.default.removeItem(at: work)
        }
        let pipx = Harness.root.appendingPathComponent(".venv-tools/bin/pipx").path
        let home = work.appendingPathComponent("home").path
        let bin = work.appendingPathComponent("bin").path
        let pipxEnv = Self.plainEnvironment(["PIPX_HOME": home, "PIPX_BIN_DIR": bin, "PIPX_MAN_DIR": work.appendingPathComponent("man").path])
        let installed = try Self.run(pipx, ["install", wheel], in: work, env: pipxEnv)
        try #require(installed.status == 0, "pipx install: \(installed)")
        // The project's own environment with mypy, found by the engine as .venv/bin/python.
        let made = try Self.run(Harness.python, ["-m", "venv", project.appendingPathComponent(".venv").path], in: project)
        try #require(made.status == 0, "python -m venv: \(made)")
        let mypy = try Self.run(project.appendingPathComponent(".venv/bin/pip").path,
                                ["install", "-q", "mypy==\(Self.pinnedMypy)"], in: project)
        try #require(mypy.status == 0, "pip install mypy: \(mypy)")

        // Where the toolchain is: the directory above the `usr/bin` of the `swift` on PATH.
        let swift = try #require(SystemdSandbox.tool("swift", also: ["/opt/swift/usr/bin/swift"]), "no swift to hide")
        let toolchain = URL(fileURLWithPath: swift).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        try #require(toolchain != "/" && toolchain != "/usr", "the toolchain is installed in \(toolchain): cannot hide it")
        // The newcomer's shell: pipx's bin directory on PATH, no DMYPY_PYTHON.
        let script = """
            export PATH="$3:/usr/bin:/bin" HOME="$4"
            unset DMYPY_PYTHON VIRTUAL_ENV
            mount -t tmpfs tmpfs "$1" || exit 99
            if command -v swift >/dev/null || [ -e "$2" ]; then echo "swift is still there" >&2; exit 99; fi
            dmypy run -- .; status=$?
            dmypy stop >/dev/null
            exit $status
            """
        let ours = try SystemdSandbox.runScript(script, [toolchain, swift, bin, home], unshare: SystemdSandbox.privateMountNamespace, in: project)
        let theirs = try Harness.dmypy(.mypy, ["run", "--", "."], in: reference)
        _ = try Harness.dmypy(.mypy, ["stop"], in: reference)
        #expect(theirs.status == 1 && theirs.stdout.contains("Incompatible types in assignment"), "\(theirs)")
        #expect(ours.stdout == theirs.stdout && ours.status == theirs.status,
                "dmypy run -- . (pipx, no Swift):\n\(ours)\nmypy's dmypy:\n\(theirs)")
        Harness.expectNoProcessesLeft(in: project)
    }

    // MARK: the Debian package

    @Test func debianPackageFieldsContentsAndLintian() throws {
        let version = try Self.version()
        let deb = try Self.package().path
        let work = try Self.temporaryDirectory("deb")
        defer { try? FileManager.default.removeItem(at: work) }

        // Contents: exactly these files, owned by root.
        let listing = try Self.run("/usr/bin/dpkg-deb", ["-c", deb], in: work)
        try #require(listing.status == 0, "dpkg-deb -c: \(listing)")
        let lines = listing.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        let files = Set(lines.filter { $0.first?.hasPrefix("-") == true }.compactMap { $0.last.map(String.init) })
        #expect(files == ["./usr/bin/dmypy", "./usr/lib/systemd/user/dmypy.service", "./usr/lib/systemd/user/dmypy.socket",
                          "./usr/share/doc/dmypy-swift/changelog.gz", "./usr/share/doc/dmypy-swift/copyright",
                          "./usr/share/lintian/overrides/dmypy-swift", "./usr/share/man/man1/dmypy.1.gz"], "\(files.sorted())")
        #expect(lines.allSatisfy { $0.count > 1 && $0[1] == "root/root" }, "\(listing.stdout)")
        #expect(lines.contains { $0.first == "-rwxr-xr-x" && $0.last == "./usr/bin/dmypy" }, "\(listing.stdout)")

        // Unpacked into a temporary root, the binary runs, and the files say what they should.
        let root = work.appendingPathComponent("root")
        let extract = try Self.run("/usr/bin/dpkg-deb", ["-x", deb, root.path], in: work)
        try #require(extract.status == 0, "dpkg-deb -x: \(extract)")
        let binary = root.appendingPathComponent("usr/bin/dmypy").path
        let reported = try Self.run(binary, ["--version"], in: work)
        #expect(reported.status == 0 && reported.stdout.hasSuffix(" (dmypy-swift \(version))\n"), "\(reported)")
        let help = try Self.run(binary, ["install-units", "--help"], in: work)
        #expect(help.status == 0 && help.stdout.hasPrefix("usage: dmypy install-units"), "\(help)")
        let units = Harness.root.appendingPathComponent("systemd")
        let service = try String(contentsOf: root.appendingPathComponent("usr/lib/systemd/user/dmypy.service"), encoding: .utf8)
        let template = try String(contentsOf: units.appendingPathComponent("dmypy.service.in"), encoding: .utf8)
        #expect(service == template.replacingOccurrences(of: "@BINDIR@", with: "/usr/bin"))
        #expect(service.contains("\nExecStart=/usr/bin/dmypy daemon --timeout 3600\n"))
        #expect(try Data(contentsOf: root.appendingPathComponent("usr/lib/systemd/user/dmypy.socket"))
                == Data(contentsOf: units.appendingPathComponent("dmypy.socket")))
        let man = try Self.run("/bin/sh", ["-c", "zcat \"$1\"", "sh", root.appendingPathComponent("usr/share/man/man1/dmypy.1.gz").path], in: work)
        #expect(man.stdout.contains(".TH DMYPY \"1\"") && man.stdout.contains("dmypy-swift \(version)")
                && man.stdout.contains("\\-\\-status\\-file") && man.stdout.contains("install-units"), "man page:\n\(man.stdout)")
        let copyright = try String(contentsOf: root.appendingPathComponent("usr/share/doc/dmypy-swift/copyright"), encoding: .utf8)
        #expect(copyright.hasPrefix("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")
                && copyright.contains("License: Expat\n"), "\(copyright)")

        // The fields, and Depends against what the binary really links.
        func field(_ name: String) throws -> String {
            try Self.run("/usr/bin/dpkg-deb", ["-f", deb, name], in: work).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try field("Package") == "dmypy-swift")
        #expect(try field("Version") == version)
        #expect(try field("Architecture") == "amd64")
        #expect(try field("Recommends") == "python3")
        #expect(try !field("Maintainer").isEmpty && field("Homepage").hasPrefix("https://"))
        let depends = try field("Depends").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let (_, minor) = try Self.glibcNeeded(binary)
        #expect(depends.contains("libc6 (>= 2.\(minor))"), "Depends: \(depends), the binary needs GLIBC_2.\(minor)")
        let libraries = try Self.needed(binary)
        // Each library the binary links is provided by a package it depends on, and no more.
        let providers = ["libc.so.6": "libc6", "libm.so.6": "libc6", "ld-linux-x86-64.so.2": "libc6",
                         "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1",
                         // swift-nio-extras (under async-http-client) links zlib for HTTP compression
                         "libz.so.1": "zlib1g"]
        let wanted = Set(try libraries.map { try #require(providers[$0], "an unexpected library \($0) in NEEDED: \(libraries)") })
        #expect(Set(depends.map { String($0.prefix { $0 != " " }) }) == wanted, "Depends: \(depends); NEEDED: \(libraries)")

        // lintian: no error; every warning is explained in the README.
        let lintian = try Self.run("/usr/bin/lintian", [deb], in: work)
        let tags = lintian.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ")
            guard parts.count >= 3, ["E:", "W:"].contains(parts[0]) else { return nil }
            return (String(parts[0]), String(parts[2]))
        }
        #expect(lintian.status == 0, "lintian: \(lintian)")
        #expect(!tags.contains { $0.0 == "E:" }, "lintian errors: \(lintian.stdout)")
        let readme = try String(contentsOf: Harness.root.appendingPathComponent("README.md"), encoding: .utf8)
        for (_, tag) in tags where !readme.contains(tag) {
            Issue.record("lintian warning \(tag) is neither fixed nor explained in the README:\n\(lintian.stdout)")
        }
        #expect(readme.contains(URL(fileURLWithPath: deb).lastPathComponent), "README.md should name \(URL(fileURLWithPath: deb).lastPathComponent)")
    }

    // MARK: installed for real, under systemd

    /// Mounts, inside the sandbox's mount namespace only, an overlay over /usr and /var/lib/dpkg
    /// (upper layers on a tmpfs), so that `dpkg -i` installs the package for real (dependencies
    /// checked against this machine's dpkg database) while the host's /usr stays untouched; then
    /// the installed units activate the daemon. Then `dmypy install-units` of the wheel's binary
    /// (pip-installed into a venv) replaces them and activates that binary.
    @Test(.enabled(if: SystemdSandbox.mountNamespacesArePermitted,
                   "unshare -m is not permitted here (EPERM: needs root or CAP_SYS_ADMIN), so no private systemd --user can run"))
    func installedPackageAndInstallUnitsActivateTheSocket() throws {
        try Harness.requireMypy()
        let version = try Self.version()
        let deb = try Self.package().path
        let wheel = try Self.wheel().path
        let hostHadDmypy = FileManager.default.fileExists(atPath: "/usr/bin/dmypy")
        let hostHadPackage = try Self.run("/usr/bin/dpkg-query", ["-W", "dmypy-swift"], in: Harness.root).status == 0
        let project = try Harness.project(sampleProject)
        let layers = try Self.temporaryDirectory("overlay")
        let work = try Self.temporaryDirectory("units")
        defer {
            Harness.cleanUp(project)
            try? FileManager.default.removeItem(at: layers)
            try? FileManager.default.removeItem(at: work)
        }
        let expected = try SystemdTests.mypyChecks(project, flags: [], [["a.py", "b.py"]])[0]
        #expect(expected.status == 1 && expected.stdout.contains("Incompatible types in assignment"), "\(expected)")
        // The wheel's binary, installed by pip as a user would (no mypy needed for install-units).
        let venv = try Venv(in: work)
        try venv.pip(["install", "-q", wheel])

        let sandbox = try SystemdSandbox()
        defer { sandbox.tearDown() }
        func inside() -> String { sandbox.diagnostics() }
        let config = sandbox.root.appendingPathComponent("config").path
        let systemctl = try #require(SystemdSandbox.tool("systemctl"))
        /// systemctl with the manager's XDG_CONFIG_HOME, so that `enable` links where it looks.
        func userctl(_ arguments: [String]) throws -> Harness.Result {
            try sandbox.inside("/usr/bin/env", ["XDG_CONFIG_HOME=\(config)", systemctl, "--user", "--no-pager"] + arguments)
        }
        func daemonCommandLine() throws -> String {
            SystemdTests.commandLine(pid_t(try sandbox.property("dmypy.service", "MainPID")) ?? 0)
        }

        // 1. dpkg -i, for real, in the namespace.
        let install = try sandbox.inside("/bin/sh", ["-c", """
            set -e
            mount -t tmpfs tmpfs "$1"
            mkdir "$1/usr" "$1/usr.work" "$1/dpkg" "$1/dpkg.work"
            mount -t overlay overlay -o lowerdir=/usr,upperdir="$1/usr",workdir="$1/usr.work" /usr
            mount -t overlay overlay -o lowerdir=/var/lib/dpkg,upperdir="$1/dpkg",workdir="$1/dpkg.work" /var/lib/dpkg
            dpkg --log=/dev/null --no-triggers -i "$2"
            dpkg-query -W -f '${Status} ${Version}\n' dmypy-swift
            """, "sh", layers.path, deb], timeout: 120)
        try #require(install.status == 0 && install.stdout.hasSuffix("install ok installed \(version)\n"),
                     "dpkg -i in the sandbox: \(install)")
        #expect(FileManager.default.fileExists(atPath: "/usr/bin/dmypy") == hostHadDmypy, "the host's /usr/bin/dmypy changed")

        // 2. The installed units, enabled and started as the README says, for this user.
        #expect(try userctl(["daemon-reload"]).status == 0)
        let enable = try userctl(["enable", "--now", "dmypy.socket"])
        try #require(enable.status == 0, "systemctl --user enable --now dmypy.socket: \(enable)\n\(inside())")
        #expect(try userctl(["is-enabled", "dmypy.socket"]).stdout == "enabled\n")
        #expect(try sandbox.state("dmypy.socket") == "active", "\(inside())")
        #expect(try sandbox.property("dmypy.service", "FragmentPath") == "/usr/lib/systemd/user/dmypy.service")

        // 3. The installed /usr/bin/dmypy's first check starts the daemon through the socket.
        let check = try sandbox.inside("/bin/sh", ["-c", "cd \"$1\" && COLUMNS=80 DMYPY_PYTHON=\"$2\" exec /usr/bin/dmypy check a.py b.py",
                                                   "sh", project.path, Harness.python], timeout: 180)
        #expect(check == expected, "check by the installed dmypy:\n\(check)\nmypy's dmypy:\n\(expected)\n\(inside())")
        let packagedDaemon = try daemonCommandLine()
        #expect(packagedDaemon.hasSuffix(" /usr/bin/dmypy daemon --timeout 3600 "), "\(packagedDaemon)")
        let stop = try sandbox.inside("/bin/sh", ["-c", "cd \"$1\" && exec /usr/bin/dmypy stop", "sh", project.path])
        #expect(stop.stdout == "Daemon stopped\n", "\(stop)")
        #expect(try userctl(["disable", "--now", "dmypy.socket", "dmypy.service"]).status == 0)
        #expect(try sandbox.state("dmypy.service") == "inactive", "\(inside())")

        // 4. `dmypy install-units` of the pip-installed binary: its units, in the user's config
        // directory (which systemd prefers to /usr/lib), name that binary's real path.
        let units = try Self.run(venv.dmypyPath, ["install-units"], in: work, env: Self.plainEnvironment(["XDG_CONFIG_HOME": config]))
        let directory = "\(config)/systemd/user"
        #expect(units == .init(stdout: "Installed dmypy.socket and dmypy.service in \(directory)\n", stderr: "", status: 0), "\(units)")
        let real = URL(fileURLWithPath: venv.dmypyPath).resolvingSymlinksInPath().path
        let template = try String(contentsOf: Harness.root.appendingPathComponent("systemd/dmypy.service.in"), encoding: .utf8)
        #expect(try String(contentsOfFile: "\(directory)/dmypy.service", encoding: .utf8)
                == template.replacingOccurrences(of: "@BINDIR@/dmypy", with: real))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(directory)/dmypy.socket"))
                == Data(contentsOf: Harness.root.appendingPathComponent("systemd/dmypy.socket")))
        #expect(try userctl(["daemon-reload"]).status == 0)
        let enableOurs = try userctl(["enable", "--now", "dmypy.socket"])
        try #require(enableOurs.status == 0, "systemctl --user enable --now dmypy.socket: \(enableOurs)\n\(inside())")
        #expect(try sandbox.property("dmypy.service", "FragmentPath") == "\(directory)/dmypy.service")
        let checkOurs = try Self.run(venv.dmypyPath, ["check", "a.py", "b.py"], in: project,
                                     env: Self.plainEnvironment(["XDG_RUNTIME_DIR": sandbox.runtimeDirectory, "DMYPY_PYTHON": Harness.python]))
        #expect(checkOurs == expected, "check by the wheel's dmypy:\n\(checkOurs)\nmypy's dmypy:\n\(expected)\n\(inside())")
        let wheelDaemon = try daemonCommandLine()
        #expect(wheelDaemon.hasSuffix(" \(real) daemon --timeout 3600 "), "\(wheelDaemon)")
        #expect(try Self.run(venv.dmypyPath, ["stop"], in: project,
                             env: Self.plainEnvironment(["XDG_RUNTIME_DIR": sandbox.runtimeDirectory])).stdout == "Daemon stopped\n")

        // Stopped by systemd (SIGTERM: the daemon cleans up after itself), not killed at teardown.
        #expect(try userctl(["disable", "--now", "dmypy.socket", "dmypy.service"]).status == 0)
        #expect(try sandbox.state("dmypy.service") == "inactive", "\(inside())")
        sandbox.tearDown()
        #expect(FileManager.default.fileExists(atPath: "/usr/bin/dmypy") == hostHadDmypy, "the host's /usr/bin/dmypy changed")
        #expect(try Self.run("/usr/bin/dpkg-query", ["-W", "dmypy-swift"], in: Harness.root).status == (hostHadPackage ? 0 : 1),
                "the host's dpkg database changed")
    }

    // MARK: install-units on its own

    @Test func installUnitsErrorsAreClear() throws {
        let work = try Self.temporaryDirectory("units-errors")
        defer { try? FileManager.default.removeItem(at: work) }
        let ours = Harness.ours
        let noHome = try Self.run("/usr/bin/env", ["-i", ours, "install-units"], in: work, env: [:])
        #expect(noHome.status == 2 && noHome.stdout.isEmpty
                && noHome.stderr == "dmypy install-units: neither XDG_CONFIG_HOME nor HOME is set to an absolute path: where do your user units go?\n",
                "\(noHome)")
        let file = work.appendingPathComponent("a-file")
        try "x".write(to: file, atomically: false, encoding: .utf8)
        let blocked = try Self.run(ours, ["install-units"], in: work, env: Self.plainEnvironment(["XDG_CONFIG_HOME": file.path]))
        #expect(blocked.status == 2 && blocked.stderr == "dmypy install-units: cannot create \(file.path)/systemd: Not a directory\n", "\(blocked)")
        let extra = try Self.run(ours, ["install-units", "--user"], in: work)
        #expect(extra == .init(stdout: "", stderr: "usage: dmypy install-units [-h]\ndmypy install-units: error: unrecognized arguments: --user\n", status: 2))
        // Only as the first argument: anywhere else it is what mypy's parser says it is.
        let later = try Self.run(ours, ["--status-file", "x", "install-units"], in: work)
        #expect(later.status == 2 && later.stderr.contains("invalid choice: 'install-units'"), "\(later)")
    }
}

/// File-type checks without DmypySystem's names colliding with Foundation's in this file.
enum FileSystemProbe {
    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}
