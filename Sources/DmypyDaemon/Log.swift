import DmypySystem
import Glibc

/// The daemon's log: the journal (structured, identifier "dmypy") when systemd connected our
/// stderr to it, otherwise lines on stderr (which `--log-file` points at a file). Libraries do not
/// log; the daemon logs each event worth knowing once.
public final class Log {
    public enum Priority: Int {
        case error = 3, warning = 4, notice = 5, info = 6, debug = 7
    }

    private let toJournal: Bool

    public init(toJournal: Bool) {
        self.toJournal = toJournal
    }

    /// Logs one event; `fields` become journal fields (KEY=value, upper-case keys).
    public func log(_ priority: Priority, _ message: String, fields: [String: String] = [:]) {
        if toJournal {
            var entries = ["MESSAGE=\(message)", "PRIORITY=\(priority.rawValue)", "SYSLOG_IDENTIFIER=dmypy"]
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { entries.append("\(key)=\(value)") }
            if Systemd.journalSend(entries) { return }
        }
        var line = "dmypy[\(getpid())]: \(message)"
        if !fields.isEmpty {
            line += " (" + fields.sorted(by: { $0.key < $1.key }).map { "\($0.key.lowercased())=\($0.value)" }.joined(separator: " ") + ")"
        }
        line += "\n"
        try? FileDescriptor.standardError.writeAll(Array(line.utf8))
    }

    public func info(_ message: String, fields: [String: String] = [:]) { log(.info, message, fields: fields) }
    public func warning(_ message: String, fields: [String: String] = [:]) { log(.warning, message, fields: fields) }
    public func error(_ message: String, fields: [String: String] = [:]) { log(.error, message, fields: fields) }
    public func debug(_ message: String, fields: [String: String] = [:]) { log(.debug, message, fields: fields) }
}
