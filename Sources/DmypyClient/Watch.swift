import DmypySystem
import DmypyWire
import Glibc

/// `dmypy watch`: the current diagnostics exactly as `dmypy run` prints them, then a new result
/// each time the daemon re-checks the build after a settled change. The daemon pushes the results
/// over the subscription's connection; the client only blocks reading it.
///
/// - On a terminal each later result has a header (time, what changed, `+2 new, −1 fixed`, how
///   long mypy took), with `--clear` the screen cleared first, then the whole list.
/// - On a pipe: mypy's lines, a blank line between results, nothing else.
/// - `--json`: the build gets mypy's `--output json`; one JSON object per result, on one line.
/// Ctrl-C ends it with status 0; the daemon keeps running.
extension Client {
    public func watch(json: Bool, clear: Bool, flags requested: [String]) throws(ClientExit) {
        signal(SIGINT) { _ in _exit(0) }
        let terminal = FileDescriptor.standardOutput.isTerminal
        var flags = requested
        if json, !flags.contains(where: { $0 == "-O" || $0.hasPrefix("--output") }) {
            flags = ["--output", "json"] + flags
        }
        var printer = WatchPrinter(mode: json ? .json : terminal ? .terminal(clear: clear) : .pipe)
        var subscription: BuildSubscription
        if json {
            // mypy's "Daemon started" is not a result: on stderr, so stdout stays one object a line.
            subscription = try Console.toStandardError { () throws(ClientExit) in
                try BuildSubscription.prepare(self, flags: flags, exportTypes: false, isTTY: context.isTTY,
                                              terminalWidth: context.terminalWidth)
            }
        } else {
            subscription = try BuildSubscription.prepare(self, flags: flags, exportTypes: false, isTTY: context.isTTY,
                                                         terminalWidth: context.terminalWidth)
        }
        var restarted = false
        while true {
            let stream: SubscriptionStream
            do {
                stream = try SubscriptionStream(subscription)
            } catch {
                throw Console.fail("dmypy watch: cannot connect to the daemon: \(DaemonConnection.pythonOSError(error))")
            }
            let progress = Progress(label: "checking")
            progress?.begin()
            var reconnect = false
            while !reconnect {
                let event: SubscriptionEvent?
                do {
                    event = try stream.next()
                } catch {
                    throw Console.fail("dmypy watch: the daemon sent a malformed frame (\(error))")
                }
                switch event {
                case nil:
                    progress?.end()
                    throw Console.fail("dmypy watch: the daemon closed the connection")
                case .progress(let text)?:
                    progress?.update(text)
                    progress?.tick()
                case .output(let stream, let text)?:
                    progress?.clear()
                    if stream == "stdout" && !json { Console.out(text) } else { Console.err(text) }
                case .refused(let frame)?:
                    progress?.end()
                    let error = frame["error"].map(PythonRepr.str) ?? "the daemon does not support subscriptions (is it mypy's own?)"
                    throw Console.fail(error)
                case .result(let result)?:
                    progress?.clear()
                    if let reason = result.restart, !restarted {
                        // As `dmypy run`: mypy's options changed since the daemon started.
                        restarted = true
                        Console.print("Restarting: \(reason)")
                        try restart(logFile: nil, timeout: nil, flags: flags, allowSources: true)
                        subscription = try BuildSubscription.prepare(self, flags: flags, exportTypes: false, isTTY: context.isTTY,
                                                                     terminalWidth: context.terminalWidth)
                        reconnect = true
                        continue
                    }
                    if let error = result.error, printer.results == 0 { throw Console.fail(error) }
                    printer.print(result)
                    progress?.begin()
                }
            }
        }
    }
}

/// How each result is printed, and what it changed since the one before.
struct WatchPrinter {
    enum Mode: Equatable {
        case terminal(clear: Bool)
        case pipe
        case json
    }

    let mode: Mode
    private(set) var results = 0
    private var previous: [String] = []

    init(mode: Mode) { self.mode = mode }

    mutating func print(_ result: BuildResult) {
        let lines = WatchPrinter.messages(result.out)
        let difference = WatchPrinter.difference(from: previous, to: lines)
        defer {
            previous = lines
            results += 1
        }
        switch mode {
        case .json:
            var object: JSONObject = [
                "changed": .array(result.changed.map { .string($0) }),
                "status": .int(result.status),
                "seconds": .double((result.seconds * 1000).rounded() / 1000),
                "new": .int(difference.new), "fixed": .int(difference.fixed),
            ]
            // mypy's `--output json` records, one per line of its output.
            object["messages"] = .array(result.out.split(separator: "\n").compactMap { line in
                try? JSONParser.parse(Array(line.utf8))
            })
            if let error = result.error { object["error"] = .string(error) }
            if !result.err.isEmpty { object["stderr"] = .string(result.err) }
            Console.print(JSON.object(object).serialized())
        case .pipe:
            if results > 0 { Console.out("\n") }
            Console.out(result.out)
            Console.err(result.error.map { $0 + "\n" } ?? result.err)
        case .terminal(let clear):
            if results > 0 {
                if clear { Console.out("\u{1B}[2J\u{1B}[H") } else { Console.out("\n") }
                Console.print("\u{1B}[1m── \(WatchPrinter.clockTime()) · \(WatchPrinter.describe(result.changed)) · "
                              + "+\(difference.new) new, −\(difference.fixed) fixed · mypy \(CheckOutput.formatFixed(result.seconds, 2)) s ──\u{1B}[0m")
            }
            Console.out(result.out)
            Console.err(result.error.map { $0 + "\n" } ?? result.err)
        }
    }

    /// mypy's message lines (not its summary), each without its line and column numbers, so that
    /// an error that only moved is neither new nor fixed.
    static func messages(_ out: String) -> [String] {
        out.split(separator: "\n").compactMap { line -> String? in
            let text = String(line)
            if text.hasPrefix("{") { return stripped(json: text) }
            // `file:line[:column...]: severity: message`; the summary line is none of them.
            guard let separator = text.firstRange(of: ": ") else { return nil }
            let location = text[..<separator.lowerBound].split(separator: ":")
            guard location.count >= 2, location[1].allSatisfy(\.isNumber) else { return nil }
            return location[0] + " " + text[separator.upperBound...]
        }
    }

    private static func stripped(json line: String) -> String? {
        guard case .object(var record)? = try? JSONParser.parse(Array(line.utf8)) else { return nil }
        for key in ["line", "column", "end_line", "end_column"] { _ = record.removeValue(forKey: key) }
        return JSON.object(record).serialized()
    }

    /// How many messages appeared and disappeared (as multisets).
    static func difference(from old: [String], to new: [String]) -> (new: Int, fixed: Int) {
        var counts: [String: Int] = [:]
        for line in old { counts[line, default: 0] += 1 }
        var added = 0
        for line in new {
            if let n = counts[line], n > 0 { counts[line] = n - 1 } else { added += 1 }
        }
        return (added, counts.values.reduce(0, +))
    }

    static func describe(_ changed: [String]) -> String {
        let cwd = FileSystem.currentDirectory() + "/"
        let names = changed.map { $0.hasPrefix(cwd) ? String($0.dropFirst(cwd.count)) : $0 }
        switch names.count {
        case 0: return "re-checked"
        case 1: return "\(names[0]) changed"
        case 2...3: return names.joined(separator: ", ") + " changed"
        default: return "\(names[0]) and \(names.count - 1) more changed"
        }
    }

    static func clockTime() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 16)
        let n = strftime(&buffer, buffer.count, "%H:%M:%S", &parts)
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Console {
    /// Runs `body` with fd 1 pointing at stderr (what it prints is not a result).
    static func toStandardError<T>(_ body: () throws(ClientExit) -> T) throws(ClientExit) -> T {
        let saved = dup(1)
        dup2(2, 1)
        defer {
            dup2(saved, 1)
            close(saved)
        }
        return try body()
    }
}
