import DmypySystem
import DmypyWire
import Glibc

/// Something wrong with the status file or the process it names (mypy's `BadStatus`); the
/// message is mypy's, word for word.
public struct BadStatus: Error, Equatable {
    public let message: String
}

/// Reads `.dmypy.json` as mypy's `read_status`/`check_status` do.
enum StatusFileReader {
    /// The file's JSON object (mypy's `read_status`).
    static func read(_ path: String) throws(BadStatus) -> JSONObject {
        guard FileSystem.isRegularFile(path) else { throw BadStatus(message: "No status file found") }
        guard let bytes = FileSystem.read(path) else { throw BadStatus(message: "No status file found") }
        let value: JSON
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw BadStatus(message: "Malformed status file: \(pythonJSONMessage(error, bytes))")
        }
        guard case .object(let object) = value else {
            throw BadStatus(message: "Invalid status file (not a dict): \(PythonRepr.repr(value))")
        }
        return object
    }

    /// (pid, connection_name) when the daemon is alive (mypy's `check_status`).
    static func check(_ data: JSONObject) throws(BadStatus) -> (pid: pid_t, connectionName: String) {
        guard let pidValue = data["pid"] else { throw BadStatus(message: "Invalid status file (no pid field)") }
        let pid: Int
        switch pidValue {
        case .int(let i): pid = i
        case .bool(let b): pid = b ? 1 : 0   // Python: bool is an int
        default: throw BadStatus(message: "pid field is not an int")
        }
        guard pid > 0, pid <= Int(Int32.max), Process.isAlive(pid_t(pid)) else { throw BadStatus(message: "Daemon has died") }
        guard let nameValue = data["connection_name"] else {
            throw BadStatus(message: "Invalid status file (no connection_name field)")
        }
        guard let name = nameValue.stringValue else { throw BadStatus(message: "connection_name field is not a string") }
        guard isDaemon(pid_t(pid), connectionName: name) else { throw BadStatus(message: "Daemon has died") }
        return (pid_t(pid), name)
    }

    /// Whether the live process `pid` can be the daemon the status file names. mypy's client takes
    /// any live pid for it; but once the daemon is gone (killed, or the machine rebooted) its pid
    /// is reused, and then mypy's `start` says "Daemon is still alive" until the file is removed
    /// by hand, and `kill` kills whatever process has that pid now. A daemon has its socket; one
    /// whose socket a /tmp cleaner removed is still a dmypy process. A process with neither, whose
    /// command line can be read, is someone else's.
    static func isDaemon(_ pid: pid_t, connectionName: String) -> Bool {
        if FileSystem.exists(connectionName) { return true }
        guard let arguments = Process.commandLine(pid) else { return true }
        return arguments.contains { $0.contains("dmypy") }
    }

    static func status(_ path: String) throws(BadStatus) -> (pid: pid_t, connectionName: String) {
        try check(try read(path))
    }

    /// Python's json error text: "Expecting value: line 1 column 1 (char 0)".
    static func pythonJSONMessage(_ error: JSONParseError, _ bytes: [UInt8]) -> String {
        let prefix = bytes.prefix(error.offset)
        let line = prefix.filter { $0 == 0x0A }.count + 1
        let lastNewline = prefix.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let charOffset = String(decoding: prefix, as: UTF8.self).count
        let column = String(decoding: bytes[lastNewline..<error.offset], as: UTF8.self).count + 1
        return "\(error.message): line \(line) column \(column) (char \(charOffset))"
    }
}
