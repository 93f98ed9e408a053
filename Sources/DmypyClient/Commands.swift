import DmypySystem
import DmypyWire
import Glibc

/// mypy's dmypy subcommands, each doing what mypy's client does, with the same output and exit
/// statuses. A subcommand ends by returning (exit 0) or throwing `ClientExit`.
public struct Client {
    public let context: ClientContext
    public let statusFile: String

    public init(context: ClientContext, statusFile: String) {
        self.context = context
        self.statusFile = statusFile
    }

    /// mypy's `request()`: finds the daemon (unless the caller already has) and exchanges one
    /// request; a user daemon is also told which directory and environment the request is for.
    func request(_ command: String, timeout: Double? = nil, _ fields: JSONObject = [:], progress: Progress? = nil,
                 target: DaemonTarget? = nil) throws(BadStatus) -> JSONObject {
        let found: DaemonTarget
        if let target { found = target } else { found = try DaemonTarget.find(statusFile: statusFile, context: context) }
        var fields = fields
        fields.merge(found.routingFields(context))
        return DaemonConnection.request(connectionName: found.connectionName, command: command, timeout: timeout,
                                        fields: fields, context: context, progress: progress)
    }

    /// Runs a body, turning `BadStatus` into mypy's `fail(message)`.
    func guarding(_ body: () throws -> Void) throws(ClientExit) {
        do {
            try body()
        } catch let exit as ClientExit {
            throw exit
        } catch let bad as BadStatus {
            throw Console.fail(bad.message)
        } catch {
            throw Console.fail("\(error)")
        }
    }

    var isRunning: Bool { (try? StatusFileReader.status(statusFile)) != nil }

    // MARK: start, restart, stop, kill, status

    public func start(logFile: String?, timeout: Int?, flags: [String]) throws(ClientExit) {
        if isRunning { throw Console.fail("Daemon is still alive") }
        try startServer(logFile: logFile, timeout: timeout, flags: flags, allowSources: false)
    }

    /// Starts a daemon for this directory: a workspace of the user daemon when there is one,
    /// otherwise a daemon of its own, as mypy's client does.
    func startServer(logFile: String?, timeout: Int?, flags: [String], allowSources: Bool) throws(ClientExit) {
        if let socket = DaemonTarget.userSocket(context) {
            try startWorkspace(socket: socket, logFile: logFile, timeout: timeout, flags: flags, allowSources: allowSources)
            return
        }
        try DaemonLauncher.start(.init(statusFile: statusFile, logFile: logFile, timeout: timeout,
                                       flags: flags, allowSources: allowSources), context: context)
    }

    /// `start` under socket activation: the user daemon opens a workspace for this directory.
    private func startWorkspace(socket: String, logFile: String?, timeout: Int?, flags: [String], allowSources: Bool) throws(ClientExit) {
        if logFile != nil {
            Console.err("dmypy: the user daemon (\(socket)) logs to the journal (journalctl -t dmypy); --log-file is not used\n")
        }
        var fields: JSONObject = [
            "flags": .array(flags.map { .string($0) }),
            "allow_sources": .bool(allowSources),
            "stdout_tty": .bool(FileDescriptor.standardOutput.isTerminal),
            "stderr_tty": .bool(FileDescriptor.standardError.isTerminal),
        ]
        if let timeout { fields["timeout"] = .int(timeout) }
        let reply: JSONObject
        do {
            reply = try request(ProtocolExtensions.startCommand, fields, progress: Progress(label: "starting the engine"),
                                target: .user(socket: socket))
        } catch {
            throw Console.fail(error.message)
        }
        if let error = reply["error"] { throw Console.fail(PythonRepr.str(error)) }
        Console.out(reply["out"].map(PythonRepr.str) ?? "")
        Console.err(reply["err"].map(PythonRepr.str) ?? "")
        guard reply["ok"]?.boolValue == true else { throw ClientExit(Int32(reply["status"]?.intValue ?? 2)) }
        Console.print("Daemon started")
    }

    public func restart(logFile: String?, timeout: Int?, flags: [String], allowSources: Bool = false) throws(ClientExit) {
        do {
            try stopThrowingBadStatus()
        } catch {
            // Bad or missing status file or dead process: good to start.
        }
        try startServer(logFile: logFile, timeout: timeout, flags: flags, allowSources: allowSources)
    }

    public func stop() throws(ClientExit) {
        do {
            try stopThrowingBadStatus()
        } catch {
            throw Console.fail(error.message)
        }
    }

    private func stopThrowingBadStatus() throws(BadStatus) {
        let target = try DaemonTarget.find(statusFile: statusFile, context: context)
        let response = try request("stop", timeout: 5, target: target)
        if case .user = target, let error = response["error"] {
            throw BadStatus(message: PythonRepr.str(error))   // no workspace here: nothing was stopped
        }
        if response["error"] != nil {
            CheckOutput.showStats(response)
            Console.err("Daemon may be busy processing; if this persists, consider \(context.programName) kill\n")
            exit(2)
        }
        Console.print("Daemon stopped")
    }

    public func kill() throws(ClientExit) {
        let pid: pid_t
        do throws(BadStatus) {
            switch try DaemonTarget.find(statusFile: statusFile, context: context) {
            case .project(let projectPID, _):
                pid = projectPID
            case .user(let socket):
                let response = try request("status", timeout: 5, target: .user(socket: socket))
                guard let userPID = response["pid"]?.intValue, userPID > 0 else {
                    throw BadStatus(message: response["error"].map(PythonRepr.str) ?? "The user daemon did not say its pid")
                }
                pid = pid_t(userPID)
                Console.err("dmypy: killing the user daemon (\(socket)), which serves every project; it starts again on the next request\n")
            }
        } catch {
            throw Console.fail(error.message)
        }
        do {
            try Process.signal(pid, SIGKILL)
        } catch {
            throw Console.fail(DaemonConnection.pythonOSError(error))
        }
        Console.print("Daemon killed")
    }

    public func status(verbose: Bool, fswatcherDumpFile: String?) throws(ClientExit) {
        try guarding {
            let fields: JSONObject = ["fswatcher_dump_file": fswatcherDumpFile.map { .string($0) } ?? .null]
            // The status file is read once: what it says decides where to ask, and is shown with -v.
            let read = Result { () throws(BadStatus) in try StatusFileReader.read(statusFile) }
            let live = (try? read.get()).flatMap { try? StatusFileReader.check($0) }
            if live == nil, let socket = DaemonTarget.userSocket(context) {
                let response = try request("status", timeout: 5, fields, target: .user(socket: socket))
                if verbose { CheckOutput.showStats(response) }
                if let error = response["error"] { throw Console.fail(PythonRepr.str(error)) }
                Console.print("Daemon is up and running")
                return
            }
            let data = try read.get()
            if verbose { CheckOutput.showStats(data) }
            let (pid, connectionName) = try StatusFileReader.check(data)
            let response = try request("status", timeout: 5, fields, target: .project(pid: pid, connectionName: connectionName))
            if verbose || response["error"] != nil { CheckOutput.showStats(response) }
            if response["error"] != nil {
                throw Console.fail("Daemon may be busy processing; if this persists, consider \(context.programName) kill")
            }
            Console.print("Daemon is up and running")
        }
    }

    // MARK: check, run, recheck

    public func check(files: [String], exportTypes: Bool, verbose: Bool, junitXML: String?, perfStatsFile: String?) throws(ClientExit) {
        try guarding {
            let t0 = Clock.wall()
            var response = try request("check", ["files": .array(files.map { .string($0) }), "export_types": .bool(exportTypes)],
                                       progress: Progress(label: "checking"))
            response["roundtrip_time"] = .double(Clock.wall() - t0)
            try CheckOutput.handle(response, verbose: verbose, junitXML: junitXML, perfStatsFile: perfStatsFile)
        }
    }

    public func run(flags: [String], exportTypes: Bool, verbose: Bool, junitXML: String?, perfStatsFile: String?,
                    logFile: String?, timeout: Int?) throws(ClientExit) {
        // A user daemon opens the workspace itself, with these flags, on the first `run`.
        if !isRunning && DaemonTarget.userSocket(context) == nil {
            try startServer(logFile: logFile, timeout: timeout, flags: flags, allowSources: true)
        }
        try guarding {
            let t0 = Clock.wall()
            var response = try runRequest(flags: flags, exportTypes: exportTypes)
            if let reason = response["restart"] {
                Console.print("Restarting: \(PythonRepr.str(reason))")
                try restart(logFile: logFile, timeout: timeout, flags: flags, allowSources: true)
                response = try runRequest(flags: flags, exportTypes: exportTypes)
            }
            response["roundtrip_time"] = .double(Clock.wall() - t0)
            try CheckOutput.handle(response, verbose: verbose, junitXML: junitXML, perfStatsFile: perfStatsFile)
        }
    }

    /// The `run` request. mypy's server restarts when the client's mypy version differs from its
    /// own: our daemon knows its engine's version (and restarts when it changes on disk), so we
    /// say we are its own client; to a daemon started by mypy's dmypy we send that mypy's version.
    private func runRequest(flags: [String], exportTypes: Bool) throws(BadStatus) -> JSONObject {
        let target = try DaemonTarget.find(statusFile: statusFile, context: context)
        var fields: JSONObject = ["args": .array(flags.map { .string($0) }), "export_types": .bool(exportTypes)]
        if case .project(let pid, _) = target, let daemonExecutable = FileSystem.readLink("/proc/\(pid)/exe"),
           daemonExecutable != FileSystem.readLink("/proc/self/exe") {
            // mypy's own daemon: its interpreter is argv[0] of its command line (a venv's python is a
            // symlink, so /proc/PID/exe would name the base interpreter without mypy).
            let candidates = [ForeignDaemon.argumentZero(pid), daemonExecutable].compactMap { $0 }
            let version = candidates.lazy.compactMap { ForeignDaemon.mypyVersion(python: $0, context: context) }.first
            fields["version"] = .string(version ?? "")
        } else {
            fields["version"] = ""
            fields[ProtocolExtensions.ourClient] = true
        }
        return try request("run", fields, progress: Progress(label: "checking"), target: target)
    }

    public func recheck(exportTypes: Bool, update: [String]?, remove: [String]?, verbose: Bool, junitXML: String?, perfStatsFile: String?) throws(ClientExit) {
        try guarding {
            let t0 = Clock.wall()
            var fields: JSONObject = ["export_types": .bool(exportTypes)]
            if update != nil || remove != nil {
                fields["remove"] = remove.map { .array($0.map { .string($0) }) } ?? .null
                fields["update"] = update.map { .array($0.map { .string($0) }) } ?? .null
            }
            var response = try request("recheck", fields, progress: Progress(label: "checking"))
            response["roundtrip_time"] = .double(Clock.wall() - t0)
            try CheckOutput.handle(response, verbose: verbose, junitXML: junitXML, perfStatsFile: perfStatsFile)
        }
    }

    // MARK: suggest, inspect, hang

    public func suggest(fields: JSONObject) throws(ClientExit) {
        try guarding {
            let response = try request("suggest", fields)
            try CheckOutput.handle(response, verbose: false, junitXML: nil, perfStatsFile: nil)
        }
    }

    public func inspect(fields: JSONObject) throws(ClientExit) {
        try guarding {
            let response = try request("inspect", fields)
            try CheckOutput.handle(response, verbose: false, junitXML: nil, perfStatsFile: nil)
        }
    }

    public func hang() throws(ClientExit) {
        try guarding {
            let response = try request("hang", timeout: 1)
            Console.print(PythonRepr.repr(.object(response)))
        }
    }
}

/// A daemon started by mypy's own dmypy: a Python process whose mypy version we ask it for.
enum ForeignDaemon {
    /// argv[0] of a process, made absolute against its working directory.
    static func argumentZero(_ pid: pid_t) -> String? {
        guard let first = Process.commandLine(pid)?.first, !first.isEmpty else { return nil }
        if first.hasPrefix("/") { return first }
        guard first.contains("/"), let cwd = FileSystem.readLink("/proc/\(pid)/cwd") else { return nil }
        return FileSystem.absolute(first, relativeTo: cwd)
    }

    static func mypyVersion(python: String, context: ClientContext) -> String? {
        let code = "import mypy.version,sys; sys.stdout.write(mypy.version.__version__)"
        guard let result = try? Process.runCapturingOutput(python, ["-c", code], environment: context.environment,
                                                             directory: context.directory), result.status == 0,
              !result.text.isEmpty else { return nil }
        return result.text
    }
}
