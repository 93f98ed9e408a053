import DmypyCLI
import DmypyClient
import DmypyEngine
import DmypyObjectStore
import DmypyRemoteCache
import DmypySystem
import DmypyWire
import Glibc

/// `dmypy cache push|pull|status|fetch`. What mypy knows (options, keys, building and packing an
/// archive, unpacking one into the slot) is the engine module's (`engine_remote.py`, run by the
/// project's Python); git and the network are ours (`DmypyRemoteCache`, `DmypyObjectStore`).
/// Each command prints one line (status: a few) on stdout; a failure one line on stderr, status 1.
enum CacheCommands {
    static func run(_ command: CacheCommand, context: ClientContext) -> Int32 {
        switch command {
        case .fetch(let location, let key, let into, let timeout):
            let report = CacheFetch.run(location: location, key: key, into: into, timeout: timeout,
                                        checkout: context.directory, environment: context.environment)
            print(JSON.object(report.json).serialized())
            return 0
        case .push(let remote, let commit, let flags):
            return outcome { () throws(RemoteCacheProblem) in try push(remote: remote, commit: commit, flags: flags, context: context) }
        case .pull(let remote, let flags):
            return outcome { () throws(RemoteCacheProblem) in try pull(remote: remote, flags: flags, context: context) }
        case .status(let remote, let flags):
            return outcome { () throws(RemoteCacheProblem) in try status(remote: remote, flags: flags, context: context) }
        }
    }

    private static func outcome(_ body: () throws(RemoteCacheProblem) -> Void) -> Int32 {
        do {
            try body()
            return 0
        } catch {
            try? FileDescriptor.standardError.writeAll(Array("dmypy cache: \(error)\n".utf8))
            return 1
        }
    }

    // MARK: push

    static func push(remote: String?, commit: String?, flags: [String], context: ClientContext) throws(RemoteCacheProblem) {
        let engine = try EngineScript(flags: flags, context: context)
        defer { engine.remove() }
        let keys = try engine.run("keys", ["flags": .array(flags.map { .string($0) }), "allow_sources": .bool(true), "root": .string(engine.directory)])
        guard let location = remote ?? keys["location"]?.stringValue else { throw .notConfigured }
        let store = try RemoteStore.open(location, environment: context.environment, requestTimeout: 600)
        let sha: String
        if let commit { sha = commit } else {
            switch CommitLookup.head(directory: context.directory, environment: context.environment) {
            case .success(let head): sha = head
            case .failure(let problem): throw .lookup(problem)
            }
        }
        let exported = try engine.run("export", ["flags": .array(flags.map { .string($0) }), "allow_sources": .bool(true),
                                                 "out": .string(engine.directory), "commit": .string(sha)])
        guard exported["exported"]?.boolValue == true, let archive = exported["archive"]?.stringValue,
              let manifestPath = exported["manifest"]?.stringValue, let manifestBytes = FileSystem.read(manifestPath),
              let key = exported["portable_key"]?.stringValue else {
            throw .engine("the cache was not built: \(exported["reason"]?.stringValue ?? "no reason given")")
        }
        let manifest = try RemoteManifest(parsing: manifestBytes)
        do {
            try runBlocking { () async throws -> Void in
                do {
                    try await CachePush.upload(store, key: key, commit: sha, archive: archive, manifest: manifestBytes,
                                               archiveName: manifest.archive)
                } catch {
                    await store.shutdown()   // the HTTP client's threads end before the process does
                    throw error
                }
                await store.shutdown()
            }
        } catch let problem as RemoteCacheProblem {
            throw problem
        } catch {
            throw .engine("\(error)")
        }
        print("Pushed the cache of commit \(sha.prefix(12)) to \(location): \(manifest.modules) modules, "
              + "\(megabytes(manifest.bytes)) (\(key))")
    }

    // MARK: pull

    static func pull(remote: String?, flags: [String], context: ClientContext) throws(RemoteCacheProblem) {
        guard case .at(let root) = CacheRoot(environment: context.environment) else {
            throw .engine("the local cache is off (\(CacheRoot.variable))")
        }
        let engine = try EngineScript(flags: flags, context: context)
        defer { engine.remove() }
        let spec: JSONObject = ["flags": .array(flags.map { .string($0) }), "allow_sources": .bool(true), "root": .string(root)]
        let keys = try engine.run("keys", spec)
        if keys["local"]?.objectValue != nil, let slot = keys["slot"]?.stringValue {
            print("A local cache is in place already (\(slot)); nothing pulled")
            return
        }
        var remoteRequest: JSONObject = ["fetcher": .array(fetcher.map { .string($0) })]
        if let remote { remoteRequest["location"] = .string(remote) }
        var pullSpec = spec
        pullSpec["remote"] = .object(remoteRequest)
        let pulled = try engine.run("pull", pullSpec)
        guard pulled["installed"]?.boolValue == true else {
            if pulled["location"] == nil || pulled["location"] == .null { throw .notConfigured }
            throw .engine(pulled["reason"]?.stringValue ?? "nothing was pulled")
        }
        let reason = pulled["reason"]?.stringValue ?? "pulled"
        print("\(reason.prefix(1).uppercased() + reason.dropFirst()): \(pulled["modules"]?.intValue ?? 0) modules, "
              + "in \(pulled["slot"]?.stringValue ?? "the local slot")")
    }

    // MARK: status

    static func status(remote: String?, flags: [String], context: ClientContext) throws(RemoteCacheProblem) {
        let root = CacheRoot(environment: context.environment)
        let engine = try EngineScript(flags: flags, context: context)
        defer { engine.remove() }
        let keys = try engine.run("keys", ["flags": .array(flags.map { .string($0) }), "allow_sources": .bool(true),
                                           "root": .string(root.path ?? engine.directory)])
        var lines: [String] = []
        switch root {
        case .off(let reason):
            lines.append("Local cache: \(reason)")
        case .at:
            if let local = keys["local"]?.objectValue {
                let origin = local["remote"]?.objectValue?["commit"]?.stringValue.map { "pulled from the remote cache (commit \($0.prefix(12)))" }
                    ?? "written by the daemon"
                lines.append("Local cache: \(keys["slot"]?.stringValue ?? ""): \(local["modules"]?.intValue ?? 0) modules, \(origin)")
            } else {
                lines.append("Local cache: none for these options (\(keys["local_reason"]?.stringValue ?? "not written yet"))")
            }
        }
        let location = remote ?? keys["location"]?.stringValue
        let key = keys["portable_key"]?.stringValue ?? ""
        if let location {
            lines.append("Remote cache: \(location) (key \(key): mypy \(keys["mypy_version"]?.stringValue ?? "?"), "
                         + "\(keys["python"]?.stringValue ?? "?"), \(keys["platform"]?.stringValue ?? "?"))")
            lines.append("  " + remoteLine(location: location, key: key, context: context))
        } else {
            lines.append("Remote cache: \(RemoteCacheProblem.notConfigured)")
        }
        if let fields = Client(context: context, statusFile: ".dmypy.json").daemonCacheFields() {
            let warm = fields["cache_warm_start"]?.boolValue.map { $0 ? "warm" : "cold" } ?? "not started yet"
            var line = "Daemon: the last start was \(warm)"
            if let reason = fields["cache_reason"]?.stringValue { line += ": \(reason)" }
            if let remoteReason = fields["cache_remote_reason"]?.stringValue { line += " (\(remoteReason))" }
            lines.append(line)
        } else {
            lines.append("Daemon: not running for this directory")
        }
        print(lines.joined(separator: "\n"))
    }

    /// What the remote holds for this HEAD: the nearest cached commit, or why none.
    private static func remoteLine(location: String, key: String, context: ClientContext) -> String {
        let scratch = (try? FileSystem.makeTemporaryDirectory(prefix: "dmypy-cache-status-")) ?? FileSystem.temporaryDirectory()
        defer { FileSystem.removeTree(scratch) }
        var lookup: CommitLookup
        switch CommitLookup.find(directory: context.directory, environment: context.environment) {
        case .failure(let problem): return "nothing to look up: \(problem)"
        case .success(let found): lookup = found
        }
        do {
            let store = try RemoteStore.open(location, environment: context.environment, requestTimeout: 10)
            let candidates = lookup.candidates
            let found = try runBlocking { () async throws -> (distance: Int, commit: String, manifest: RemoteManifest)? in
                do {
                    let found = try await CacheFetch.nearest(store, key: key, candidates: candidates, deadline: .now + .seconds(10))
                    await store.shutdown()   // the HTTP client's threads end before the process does
                    return found
                } catch {
                    await store.shutdown()
                    throw error
                }
            }
            let head = "HEAD \(lookup.head.prefix(12))\(lookup.detached ? " (detached)" : "")"
            let base = lookup.baseBranch.map { "merge-base with \($0) \(lookup.candidates.first?.prefix(12) ?? "")" } ?? "no default remote branch"
            guard let (distance, _, manifest) = found else {
                return "\(head), \(base): \(RemoteCacheProblem.noCache(base: lookup.candidates.first ?? lookup.head, lookedUp: candidates.count))"
            }
            return "\(head), \(base): cached at commit \(manifest.commit?.prefix(12) ?? "?")"
                + (distance > 0 ? " (\(distance) first-parent commit\(distance == 1 ? "" : "s") back)" : "")
                + ", \(manifest.modules) modules, \(megabytes(manifest.bytes))"
        } catch {
            return "cannot look it up: \(error)"
        }
    }

    /// This binary's `cache fetch`: what the engine runs to reach the store.
    static var fetcher: [String] { [FileSystem.readLink("/proc/self/exe") ?? CommandLine.arguments[0], "cache", "fetch"] }

    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10) >> 20   // Swift's `>>` binds tighter than `*`
        return bytes >= 1 << 20 ? "\(tenths / 10).\(tenths % 10) MiB" : "\(bytes >> 10) KiB"
    }
}

/// The engine's modules written to a private directory, run by the project's Python as mypy's
/// interpreter (the one `dmypy run` would pick), one JSON line back per command.
struct EngineScript {
    let python: String
    let directory: String
    let workingDirectory: String
    let environment: [String: String]

    init(flags: [String], context: ClientContext) throws(RemoteCacheProblem) {
        switch PythonLocator.locate(flags: flags, environment: context.environment, directory: context.directory) {
        case .failure(let failure): throw .engine("no Python with mypy was found (\(failure))")
        case .success(let interpreter): python = interpreter.path
        }
        do {
            directory = try FileSystem.makeTemporaryDirectory(prefix: "dmypy-cache-")
            _ = try EngineAdapter.install(in: directory)
        } catch {
            throw .engine("cannot write the engine's modules: \(error)")
        }
        workingDirectory = context.directory
        environment = context.environment
    }

    func run(_ command: String, _ spec: JSONObject) throws(RemoteCacheProblem) -> JSONObject {
        let script = "\(directory)/\(EngineAdapter.remoteModuleFile)"
        guard let result = try? Process.runCapturingOutput(python, [script, command, JSON.object(spec).serialized()],
                                                            environment: environment, directory: workingDirectory),
              let line = result.text.split(separator: "\n").last,
              let report = (try? JSONParser.parse(Array(line.utf8)))?.objectValue else {
            throw .engine("mypy's side of `cache \(command)` ended without a report")
        }
        if let reason = report["traceback"]?.stringValue, !reason.isEmpty {
            throw .engine("mypy's side of `cache \(command)` failed: \(report["reason"]?.stringValue ?? reason)")
        }
        return report
    }

    /// Everything written under the directory (the modules, an exported archive).
    func remove() {
        FileSystem.removeTree(directory)
    }
}
