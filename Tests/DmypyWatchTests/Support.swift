import DmypySystem
import Glibc
import Testing
@testable import DmypyWatch

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A real watcher on a real loop over a fresh temporary directory.
final class WatchHarness {
    let root: String
    let loop: EventLoop
    let watcher: Watcher
    var batches: [ChangeBatch] = []

    init(debounce: Double = 0.05, maximumDelay: Double = 0.5) throws {
        root = try FileSystem.makeTemporaryDirectory(prefix: "dmypy-watch-")
        loop = try EventLoop()
        watcher = try Watcher(loop: loop, debounce: debounce, maximumDelay: maximumDelay)
        watcher.onBatch = { [unowned self] batch in self.batches.append(batch) }
    }

    deinit {
        watcher.close()
        removeTree(root)
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    /// Runs the loop until a batch arrives (failing after `timeout` seconds) and returns it.
    func nextBatch(timeout: Double = 5) throws -> ChangeBatch {
        let deadline = Clock.monotonic() + timeout
        while batches.isEmpty && Clock.monotonic() < deadline {
            try loop.runOnce(timeoutMilliseconds: 50)
        }
        guard !batches.isEmpty else { throw TestFailure("no batch within \(timeout) s") }
        return batches.removeFirst()
    }

    /// Runs the loop, taking batches in order, until the changes seen so far satisfy `done`
    /// (so a test does not depend on how a burst was split); fails after `timeout` seconds.
    func changes(timeout: Double = 5, until done: (Changes) -> Bool) throws -> Changes {
        var changes = Changes()
        let deadline = Clock.monotonic() + timeout
        while !done(changes) {
            guard Clock.monotonic() < deadline else {
                throw TestFailure("changes not complete within \(timeout) s: \(changes)")
            }
            if batches.isEmpty { try loop.runOnce(timeoutMilliseconds: 50) }
            while !batches.isEmpty { changes.apply(batches.removeFirst()) }
        }
        return changes
    }
}

/// Batches applied in order: where each path ended up.
struct Changes: CustomStringConvertible {
    var changed: Set<String> = []
    var removed: Set<String> = []
    var needsRecrawl = false
    var gitHeadChanged = false
    var batchCount = 0

    mutating func apply(_ batch: ChangeBatch) {
        changed.subtract(batch.removed)
        removed.formUnion(batch.removed)
        removed.subtract(batch.changed)
        changed.formUnion(batch.changed)
        needsRecrawl = needsRecrawl || batch.needsRecrawl
        gitHeadChanged = gitHeadChanged || batch.gitHeadChanged
        batchCount += 1
    }

    var description: String { "changed \(changed.sorted()), removed \(removed.sorted())" }
}

// MARK: File operations, straight system calls

func write(_ path: String, _ text: String) throws {
    let fd = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_TRUNC)
    defer { fd.close() }
    try fd.writeAll(Array(text.utf8))
}

func makeDirectory(_ path: String) throws {
    guard mkdir(path, 0o755) == 0 else { throw SystemError(call: "mkdir", errno: errno) }
}

func move(_ from: String, _ to: String) throws {
    guard rename(from, to) == 0 else { throw SystemError(call: "rename", errno: errno) }
}

func delete(_ path: String) throws {
    guard unlink(path) == 0 else { throw SystemError(call: "unlink", errno: errno) }
}

/// `rm -rf`
func removeTree(_ path: String) {
    if let entries = DirectoryListing.entries(path) {
        for entry in entries {
            let child = path + "/" + entry.name
            if entry.kind == .directory { removeTree(child) } else { unlink(child) }
        }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// A raw `struct inotify_event`, as read(2) returns it.
func rawEvent(watch: Int32, mask: UInt32, cookie: UInt32 = 0, name: String = "") -> [UInt8] {
    var nameBytes = Array(name.utf8)
    if !nameBytes.isEmpty {
        nameBytes.append(0)
        while nameBytes.count % 16 != 0 { nameBytes.append(0) }
    }
    var bytes: [UInt8] = []
    withUnsafeBytes(of: watch.littleEndian) { bytes += $0 }
    withUnsafeBytes(of: mask.littleEndian) { bytes += $0 }
    withUnsafeBytes(of: cookie.littleEndian) { bytes += $0 }
    withUnsafeBytes(of: UInt32(nameBytes.count).littleEndian) { bytes += $0 }
    return bytes + nameBytes
}
