import DmypySystem
import Glibc
import NIOCore

/// A file's bytes as an async sequence of buffers, for a streamed upload body; each iteration
/// opens the file anew (a retried upload reads it again from the start).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String

    func makeAsyncIterator() -> Iterator { Iterator(path: path) }

    final class Iterator: AsyncIteratorProtocol {
        let path: String
        var fd: DmypySystem.FileDescriptor?
        var finished = false

        init(path: String) { self.path = path }

        func next() async throws -> ByteBuffer? {
            if finished { return nil }
            if fd == nil {
                guard let opened = try LocalFiles.openForReading(path) else { throw ObjectStoreError.io("\(path): no such file") }
                fd = opened
            }
            let chunk = try LocalFiles.read(fd!, upTo: S3Store.uploadChunkBytes, path: path)
            if chunk.isEmpty {
                close()
                return nil
            }
            return ByteBuffer(bytes: chunk)
        }

        private func close() {
            finished = true
            fd?.close()
            fd = nil
        }

        deinit { fd?.close() }
    }
}
