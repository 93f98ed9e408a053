import DmypySystem
import Glibc

/// The daemon's log: the journal (structured, identifier "dmypy") when systemd connected our
/// stderr to it, otherwise lines on stderr (which `--log-file` points at a file). Libraries do not
/// log; the daemon logs each event worth knowing once.
///
/// A `--log-file` holds what mypy's daemon writes there: what the engine prints outside requests,
/// as it printed it. Our own informational lines join it only when mypy runs verbosely (`-v` in
/// its flags); notices (a signal that stops the daemon), warnings and errors always do. Without a
/// log file (a daemon in the foreground, or the user daemon) and in the journal, everything is logged.
public final class Log {
    public enum Priority: Int {
        case error = 3, warning = 4, notice = 5, info = 6, debug = 7
    }

    private let toJournal: Bool
    /// Informational lines on stderr too (mypy's `-v`).
    public let verbose: Bool

    public init(toJournal: Bool, verbose: Bool = false) {
        self.toJournal = toJournal
        self.verbose = verbose
    }

    /// Whether mypy's flags ask for verbose output (`-v`, `-vv`, `--verbose`).
    public static func isVerbose(_ flags: [String]) -> Bool {
        flags.contains { $0 == "--verbose" || ($0.count > 1 && $0.hasPrefix("-") && $0.dropFirst().allSatisfy { $0 == "v" }) }
    }

    /// A line the engine printed on its own stdout or stderr, as mypy's daemon writes to its log.
    public func engineOutput(_ line: String) {
        if toJournal, Systemd.journalSend(["MESSAGE=\(line)", "PRIORITY=\(Priority.info.rawValue)", "SYSLOG_IDENTIFIER=dmypy", "DMYPY_ENGINE_OUTPUT=1"]) {
            return
        }
        try? FileDescriptor.standardError.writeAll(Array((line + "\n").utf8))
    }

    /// Logs one event; `fields` become journal fields (KEY=value, upper-case keys).
    public func log(_ priority: Priority, _ message: String, fields: [String: String] = [:]) {
        if toJournal {
            var entries = ["MESSAGE=\(message)", "PRIORITY=\(priority.rawValue)", "SYSLOG_IDENTIFIER=dmypy"]
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { entries.append("\(key)=\(value)") }
            if Systemd.journalSend(entries) { return }
        }
        guard verbose || priority.rawValue <= Priority.notice.rawValue else { return }
        var line = "dmypy[\(getpid())]: \(message)"
        if !fields.isEmpty {
            line += " (" + fields.sorted(by: { $0.key < $1.key }).map { "\($0.key.lowercased())=\($0.value)" }.joined(separator: " ") + ")"
        }
        line += "\n"
        try? FileDescriptor.standardError.writeAll(Array(line.utf8))
    }

    public func info(_ message: String, fields: [String: String] = [:]) { log(.info, message, fields: fields) }
    public func notice(_ message: String, fields: [String: String] = [:]) { log(.notice, message, fields: fields) }
    public func warning(_ message: String, fields: [String: String] = [:]) { log(.warning, message, fields: fields) }
    public func error(_ message: String, fields: [String: String] = [:]) { log(.error, message, fields: fields) }
    public func debug(_ message: String, fields: [String: String] = [:]) { log(.debug, message, fields: fields) }
}
