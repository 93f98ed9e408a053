// `@file` arguments (`fromfile_prefix_chars='@'`): argparse replaces each string
// starting with `@` by the lines of the named file, one argument per line
// (`convert_arg_line_to_args`), expanding `@` lines in there recursively.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thrown by an arguments-file reader when the file cannot be read. dmypy reports
/// it as Python reports its `OSError`: `[Errno 2] No such file or directory: 'x'`.
public struct ArgumentsFileError: Error, Equatable, Sendable {
    /// The `errno` value of the failure.
    public var errno: Int32

    public init(errno: Int32) {
        self.errno = errno
    }
}

/// Reads an `@file` the way Python's `open(path).read()` does: relative to the
/// current directory, decoded as UTF-8 (Python would fail on malformed UTF-8;
/// this reader substitutes U+FFFD instead). Throws `ArgumentsFileError`.
public func readArgumentsFile(_ path: String) throws -> String {
    if path.utf8.contains(0) { throw ArgumentsFileError(errno: EINVAL) }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    if fd < 0 { throw ArgumentsFileError(errno: errno) }
    defer { close(fd) }
    var info = stat()
    if fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
        throw ArgumentsFileError(errno: EISDIR)
    }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw ArgumentsFileError(errno: errno)
        }
        if count == 0 { break }
        bytes.append(contentsOf: buffer[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// How deep `@file` expansion may nest. Python has no explicit limit; it dies
/// with a RecursionError (exit status 1, a traceback) around this depth.
let maximumArgumentsFileDepth = 1000

/// Why expanding `@file` arguments stopped.
enum ArgumentsFileFailure: Error {
    /// `str(OSError)`: argparse reports it with `parser.error`.
    case unreadable(String)
    /// Nesting too deep: Python would crash with a RecursionError.
    case tooDeep
}

/// `_read_args_from_files`.
func expandArgumentFiles(
    _ arguments: [String], readFile: (String) throws -> String, depth: Int = 0
) throws(ArgumentsFileFailure) -> [String] {
    if depth > maximumArgumentsFileDepth { throw .tooDeep }
    var expanded: [String] = []
    for argument in arguments {
        let chars = argument.scalars
        guard chars.first == "@" else {
            expanded.append(argument)
            continue
        }
        let path = String(scalars: chars.dropFirst())
        let contents: String
        do {
            contents = try readFile(path)
        } catch let error as ArgumentsFileError {
            throw .unreadable("[Errno \(error.errno)] \(errorDescription(error.errno)): \(pythonRepr(path))")
        } catch {
            throw .unreadable(String(describing: error))
        }
        expanded += try expandArgumentFiles(pythonSplitLines(contents), readFile: readFile, depth: depth + 1)
    }
    return expanded
}

/// C's `strerror`, which is what Python's `OSError` messages use.
private func errorDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "Unknown error \(code)" }
    return String(cString: text)
}

/// Python's `str.splitlines()` (the file is read in text mode, whose universal
/// newlines give the same lines): breaks at `\n`, `\r`, `\r\n`, `\v`, `\f`,
/// `\x1c`-`\x1e`, `\x85`, U+2028 and U+2029; a final break adds no empty line.
func pythonSplitLines(_ text: String) -> [String] {
    var lines: [String] = []
    var current = String.UnicodeScalarView()
    var previousWasCR = false
    for c in text.unicodeScalars {
        if c == "\n" && previousWasCR {
            previousWasCR = false
            continue
        }
        previousWasCR = false
        switch c.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
            lines.append(String(current))
            current = String.UnicodeScalarView()
            previousWasCR = c == "\r"
        default:
            current.append(c)
        }
    }
    if !current.isEmpty { lines.append(String(current)) }
    return lines
}
