import DmypySystem
import DmypyWire
import Glibc

/// `.dmypy.json`: exactly mypy's format, `{"pid": …, "connection_name": …}` and a newline, so mypy's
/// own client and the editor integrations built on it find us.
enum StatusFile {
    static func contents(pid: pid_t, connectionName: String) -> [UInt8] {
        let object: JSONObject = ["pid": .int(Int(pid)), "connection_name": .string(connectionName)]
        return JSON.object(object).serializedBytes() + [0x0A]
    }

    /// Written atomically and not writable by others (0644 like mypy's, under our umask).
    static func write(_ path: String, pid: pid_t, connectionName: String) throws(SystemError) {
        // Not fsync'd: it is written on the event loop, and after a crash of the machine it names a
        // dead daemon anyway (mypy does not sync it either).
        try FileSystem.writeAtomically(path, contents(pid: pid, connectionName: connectionName), mode: 0o644, durable: false)
    }

    /// Removes the status file only if it still names this process (never a successor's).
    static func remove(_ path: String, pid: pid_t) {
        guard let bytes = FileSystem.read(path),
              let object = try? FrameDecoder.decodeObject(bytes),
              object["pid"]?.intValue == Int(pid) else { return }
        FileSystem.remove(path)
    }
}
