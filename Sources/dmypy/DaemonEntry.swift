import DmypyDaemon
import DmypySystem
import DmypyWire
import Glibc

/// `dmypy daemon`: serve in the foreground (also how `start`/`run` launch us in the background).
enum DaemonEntry {
    static func run(statusFile: String, timeout: Int?, logFile: String?, flags: [String], readyFD: Int32?) -> Int32 {
        if let logFile {
            // As mypy: the daemon's stdout and stderr go to the log file.
            guard let fd = try? FileDescriptor.open(logFile, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644) else {
                FileDescriptor.standardError.writeLine("dmypy: cannot open the log file \(logFile)")
                return 2
            }
            dup2(fd.rawValue, 1)
            dup2(fd.rawValue, 2)
            fd.close()
        }
        var environment = Process.currentEnvironment()
        let allowSources = environment.contains("\(DaemonConfiguration.allowSourcesVariable)=1")
        let ttys = environment.first { $0.hasPrefix("\(DaemonConfiguration.ttyVariable)=") }
            .map { $0.dropFirst(DaemonConfiguration.ttyVariable.count + 1).split(separator: ",").map(String.init) }
        environment.removeAll {
            $0.hasPrefix("\(DaemonConfiguration.allowSourcesVariable)=") || $0.hasPrefix("\(DaemonConfiguration.ttyVariable)=")
        }
        if readyFD != nil { umask(0o027) }   // as mypy's daemonize
        var configuration = DaemonConfiguration(
            statusFile: statusFile, timeout: timeout, logFile: logFile, flags: flags, allowSources: allowSources,
            readyFD: readyFD,
            stdoutTTY: ttys.map { $0.contains("stdout") } ?? FileDescriptor.standardOutput.isTerminal,
            stderrTTY: ttys.map { $0.contains("stderr") } ?? FileDescriptor.standardError.isTerminal,
            directory: FileSystem.currentDirectory(), environment: environment)
        if let value = getenv(DaemonConfiguration.memoryLimitVariable) {
            guard let limit = Double(String(cString: value)), limit > 0 else {
                return refuse("dmypy: \(DaemonConfiguration.memoryLimitVariable) must be a number of MiB, not '\(String(cString: value))'", readyFD: readyFD)
            }
            configuration.engineMemoryLimitMiB = limit
        }
        if let value = getenv(DaemonConfiguration.recycleAfterVariable) {
            guard let updates = Int(String(cString: value)), updates > 0 else {
                return refuse("dmypy: \(DaemonConfiguration.recycleAfterVariable) must be a number of updates, not '\(String(cString: value))'", readyFD: readyFD)
            }
            configuration.engineMaximumUpdates = updates
        }
        do {
            return try Daemon(configuration: configuration).run()
        } catch {
            FileDescriptor.standardError.writeLine("dmypy: could not start the daemon: \(error)")
            return 2
        }
    }

    /// A setting the daemon cannot start with: the starting client prints the message.
    private static func refuse(_ message: String, readyFD: Int32?) -> Int32 {
        if let readyFD {
            let ready = FileDescriptor(rawValue: readyFD)
            try? ready.writeAll(Frame.encode(["ok": false, "out": "", "err": .string(message + "\n"), "status": 2]))
            ready.close()
        } else {
            FileDescriptor.standardError.writeLine(message)
        }
        return 2
    }
}

extension FileDescriptor {
    func writeLine(_ text: String) {
        try? writeAll(Array((text + "\n").utf8))
    }
}
