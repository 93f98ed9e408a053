import DmypyObjectStore
import DmypyWire

/// `dmypy cache fetch`, the engine's plumbing: the nearest cached commit's manifest and archive,
/// downloaded into a directory the engine owns, within one deadline. The engine verifies the
/// checksum and unpacks (`engine_remote.install`); this side only looks up and downloads.
public enum CacheFetch {
    /// What the fetch found, as the one JSON line the engine reads.
    public struct Report: Equatable, Sendable {
        public var problem: RemoteCacheProblem?
        public var lookup: CommitLookup?
        public var commit: String?
        public var distance: Int?
        public var lookedUp = 0
        public var archive: String?
        public var manifest: RemoteManifest?

        public var json: JSONObject {
            var fields: JSONObject = ["found": .bool(problem == nil && archive != nil), "looked_up": .int(lookedUp)]
            fields["reason"] = problem.map { .string($0.description) } ?? .null
            fields["head"] = lookup.map { .string($0.head) } ?? .null
            fields["detached"] = lookup.map { .bool($0.detached) } ?? .null
            fields["commit"] = commit.map { .string($0) } ?? .null
            fields["distance"] = distance.map { .int($0) } ?? .null
            fields["archive"] = archive.map { .string($0) } ?? .null
            fields["manifest"] = manifest.map { .object($0.json) } ?? .null
            return fields
        }
    }

    /// A lookup of manifests gets at most this long of the whole deadline: a store that answers
    /// slowly is given up early, not after every candidate.
    static let lookupSeconds = 8.0

    public static func run(location: String, key: String, into directory: String, timeout: Double,
                           checkout: String, environment: [String: String]) -> Report {
        var report = Report()
        switch CommitLookup.find(directory: checkout, environment: environment) {
        case .failure(let problem):
            report.problem = .lookup(problem)
            return report
        case .success(let lookup):
            report.lookup = lookup
        }
        let store: any ObjectStore
        do {
            store = try RemoteStore.open(location, environment: environment, requestTimeout: timeout)
        } catch {
            report.problem = error
            return report
        }
        let candidates = report.lookup?.candidates ?? []
        let found = report   // the lookup so far, carried into the task
        let fetched = try? runBlocking { () async -> Report in
            var report = found
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            let lookupDeadline = min(deadline, ContinuousClock.now + .milliseconds(Int(lookupSeconds * 1000)))
            do {
                if let found = try await nearest(store, key: key, candidates: candidates, deadline: lookupDeadline) {
                    let path = "\(directory)/\(found.manifest.archive)"
                    let got = try await downloaded(store, RemoteCacheLayout.archive(key: key, commit: found.commit, name: found.manifest.archive),
                                                   to: path, deadline: deadline)
                    guard got == found.manifest.bytes else { throw RemoteCacheProblem.sizeMismatch(expected: found.manifest.bytes, got: got) }
                    report.commit = found.commit
                    report.distance = found.distance
                    report.lookedUp = found.distance + 1
                    report.archive = path
                    report.manifest = found.manifest
                } else {
                    report.lookedUp = candidates.count
                    report.problem = .noCache(base: candidates.first ?? "HEAD", lookedUp: candidates.count)
                }
            } catch let problem as RemoteCacheProblem {
                report.problem = problem
            } catch {
                report.problem = .engine("\(error)")
            }
            await store.shutdown()
            return report
        }
        guard let fetched else {
            report.problem = .store(.timedOut)
            return report
        }
        return fetched
    }

    /// The nearest of `candidates` (nearest first) that has a cache under `key`: how many
    /// commits back, which, and its manifest; nil when none has one.
    public static func nearest(_ store: any ObjectStore, key: String, candidates: [String], deadline: ContinuousClock.Instant)
        async throws(RemoteCacheProblem) -> (distance: Int, commit: String, manifest: RemoteManifest)?
    {
        for (distance, commit) in candidates.enumerated() {
            if let manifest = try await manifest(store, key: key, commit: commit, deadline: deadline) {
                return (distance, commit, manifest)
            }
        }
        return nil
    }

    /// The manifest stored for `commit`, nil when there is none.
    private static func manifest(_ store: any ObjectStore, key: String, commit: String,
                                 deadline: ContinuousClock.Instant) async throws(RemoteCacheProblem) -> RemoteManifest? {
        let bytes: [UInt8]
        do {
            bytes = try await store.get(RemoteCacheLayout.manifest(key: key, commit: commit),
                                        maxBytes: RemoteCacheLayout.maximumManifestBytes, deadline: deadline)
        } catch {
            if case .notFound = error { return nil }
            throw .store(error)
        }
        let manifest = try RemoteManifest(parsing: bytes)
        guard manifest.portableKey == key else { throw .otherKey }
        return manifest
    }

    private static func downloaded(_ store: any ObjectStore, _ key: String, to path: String,
                                   deadline: ContinuousClock.Instant) async throws(RemoteCacheProblem) -> Int {
        do {
            return try await store.download(key, to: path, deadline: deadline)
        } catch {
            throw .store(error)
        }
    }
}
