import DmypyEngine
import DmypySystem
import DmypyWire
import Glibc

/// The daemon: one epoll loop owning the listening socket, the clients, the signals, the timers
/// and the workspaces' engines.
///
/// It runs in one of two modes:
/// - **project**, as mypy's daemon: started by `dmypy start`/`run` (or `dmypy daemon`) in a
///   directory, one workspace with the flags it was started with, its own socket, `.dmypy.json`;
/// - **user**, under systemd socket activation: one daemon serves every project of the user; each
///   request names its directory and gets that directory's workspace, opened on first use (or by
///   `start`, with flags) and closed after its own idle time. With no workspace left and nothing
///   to do for `--timeout` seconds it exits, and systemd keeps the socket for the next request.
public final class Daemon {
    enum Mode: Equatable {
        case project
        case user
    }

    /// Limits on what clients control.
    public static let maximumConnections = 256
    public static let maximumRequestSize = 64 * 1024 * 1024

    let configuration: DaemonConfiguration
    let loop: EventLoop
    let log: Log
    private(set) var mode: Mode = .project
    private var listener: FileDescriptor?
    private var listenerRegistration: EventLoop.Registration?
    private var socketDirectory: String?
    private var privateDirectory = ""
    private(set) var connectionName = ""
    var adapterPath = ""
    /// By directory; the project mode's one workspace is under the daemon's directory.
    var workspaces: [String: OpenWorkspace] = [:]
    var connections: [Int: ClientConnection] = [:]
    var waiters: [Int: (workspace: String, waiter: ConnectionWaiter)] = [:]
    var hangs: [Int: LoopTimer] = [:]
    private var nextConnectionID = 1
    var idleTimer: LoopTimer?
    private var watchdogTimer: LoopTimer?
    private var signals: FileDescriptor?
    private var exitStatus: Int32 = 0
    var statusFileWritten = false
    var lastActivity = Clock.monotonic()
    private var lastCheck: String?
    let startedAt = Clock.monotonic()

    /// A workspace and when a client last used it.
    struct OpenWorkspace {
        let workspace: Workspace
        var timeout: Int?
        var lastUsed: Double
    }

    public init(configuration: DaemonConfiguration) throws(SystemError) {
        self.configuration = configuration
        loop = try EventLoop()
        log = Log(toJournal: Systemd.stderrIsJournal(), verbose: configuration.logFile == nil || Log.isVerbose(configuration.flags))
    }

    /// Serves until stopped; returns the exit status.
    public func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        do {
            try setUp()
        } catch {
            reportStart(EngineStart(ok: false, err: "dmypy: could not start the daemon: \(error)\n", status: 2))
            cleanUp()
            return 2
        }
        do {
            try loop.run()
        } catch {
            log.error("Event loop failed: \(error)")
            exitStatus = 2
        }
        cleanUp()
        return exitStatus
    }

    // MARK: start and stop

    private func setUp() throws(SystemError) {
        let signalFD = try SignalFD.create(for: [SIGTERM, SIGINT, SIGHUP])
        signals = signalFD
        try loop.register(signalFD, .input) { [weak self] _ in self?.handleSignals() }

        let activated = Systemd.listenFDs()
        if let socket = activated.first {
            try socket.setNonBlocking()
            try socket.setCloseOnExec(true)
            listener = socket
            mode = .user
            connectionName = (try? UnixSocket.localPath(socket)) ?? ""
            privateDirectory = try FileSystem.makeTemporaryDirectory(prefix: "dmypy-")
        } else {
            // As mypy: a fresh private (0700) directory holding the socket.
            let directory = try FileSystem.makeTemporaryDirectory(prefix: "tmp")
            socketDirectory = directory
            privateDirectory = directory
            connectionName = "\(directory)/dmypy.sock"
            listener = try UnixSocket.listen(path: connectionName)
        }
        guard let listener else { return }
        listenerRegistration = try loop.register(listener, .input) { [weak self] _ in self?.acceptConnections() }
        adapterPath = try EngineAdapter.install(in: privateDirectory)
        idleTimer = try LoopTimer(loop: loop) { [weak self] in self?.idleTimeout() }
        if let interval = Systemd.watchdogInterval() {
            // systemd asks for a ping at least every `interval`: every half of it, as sd_watchdog_enabled(3) advises.
            watchdogTimer = try LoopTimer(loop: loop) { Systemd.notify("WATCHDOG=1") }
            watchdogTimer?.schedule(after: interval / 2, interval: interval / 2)
        }

        switch mode {
        case .user:
            log.info("Daemon ready, serving the user's projects", fields: ["SOCKET": connectionName])
            Systemd.notify("READY=1")
            updateServiceStatus()
            armIdleTimer()
        case .project:
            log.info("Daemon starting", fields: ["DIRECTORY": configuration.directory, "SOCKET": connectionName])
            let workspace = openWorkspace(Workspace.Settings(
                directory: configuration.directory,
                environment: configuration.environment,
                flags: configuration.flags,
                allowSources: configuration.allowSources,
                stdoutTTY: configuration.stdoutTTY,
                stderrTTY: configuration.stderrTTY
            ), timeout: configuration.timeout)
            workspace.onFirstStart = { [weak self] start in self?.engineStarted(start) }
            workspace.start()
        }
    }

    /// The project mode's workspace came up (or did not): write the status file and serve.
    private func engineStarted(_ start: EngineStart) {
        guard start.ok else {
            reportStart(start)
            exitStatus = Int32(start.status)
            loop.stop()
            return
        }
        do {
            try StatusFile.write(configuration.statusFile, pid: getpid(), connectionName: connectionName)
            statusFileWritten = true
        } catch {
            reportStart(EngineStart(ok: false, err: "dmypy: could not write the status file \(configuration.statusFile): \(error)\n", status: 2))
            exitStatus = 2
            loop.stop()
            return
        }
        reportStart(start)
        Systemd.notify("READY=1")
        updateServiceStatus()
        let interpreter = workspaces.values.first?.workspace.interpreter
        log.info("Daemon ready", fields: ["PYTHON": interpreter?.path ?? "", "MYPY_VERSION": interpreter?.mypyVersion ?? ""])
        armIdleTimer()
    }

    /// Tells the starting client how the start went (or prints it, when run in the foreground).
    private func reportStart(_ start: EngineStart) {
        let out = start.out, err = start.err
        if let fd = configuration.readyFD {
            let descriptor = FileDescriptor(rawValue: fd)
            let message: JSONObject = ["ok": .bool(start.ok), "out": .string(out), "err": .string(err), "status": .int(start.ok ? 0 : start.status)]
            try? descriptor.writeAll(Frame.encode(message))
            descriptor.close()
        } else {
            if !out.isEmpty { try? FileDescriptor.standardOutput.writeAll(Array(out.utf8)) }
            if !err.isEmpty { try? FileDescriptor.standardError.writeAll(Array(err.utf8)) }
        }
    }

    private func handleSignals() {
        guard let signals else { return }
        while let signal = try? SignalFD.next(signals) {
            log.notice("Received signal \(signal); shutting down")
            shutDown(reason: "Daemon is shutting down (signal \(signal))")
        }
    }

    /// Stops serving: answers everyone still waiting, stops the engines; the loop then exits.
    func shutDown(reason: String) {
        Systemd.notify("STOPPING=1")
        if statusFileWritten {
            StatusFile.remove(configuration.statusFile, pid: getpid())
            statusFileWritten = false
        }
        if let registration = listenerRegistration {
            loop.deregister(registration)
            listenerRegistration = nil
        }
        for open in workspaces.values { open.workspace.shutdown(reason: reason) }
        for connection in connections.values { connection.close() }
        loop.stop()
    }

    private func cleanUp() {
        for open in workspaces.values { open.workspace.shutdown(reason: "Daemon stopped") }
        workspaces.removeAll()
        if statusFileWritten { StatusFile.remove(configuration.statusFile, pid: getpid()) }
        listener?.close()
        if let socketDirectory {
            FileSystem.remove("\(socketDirectory)/dmypy.sock")
        }
        EngineAdapter.uninstall(from: privateDirectory)
        FileSystem.removeDirectory(privateDirectory)
        log.info("Daemon stopped")
    }

    // MARK: workspaces

    /// Opens (and starts) a workspace; the caller may set `onFirstStart` before the engine answers.
    func openWorkspace(_ settings: Workspace.Settings, timeout: Int?) -> Workspace {
        let workspace = Workspace(settings: settings, loop: loop, log: log, adapterPath: adapterPath)
        workspace.memoryLimitMiB = configuration.engineMemoryLimitMiB
        workspace.maximumUpdates = configuration.engineMaximumUpdates
        workspace.onCheckDone = { [weak self] status, seconds, summary in
            self?.checkDone(directory: settings.directory, status: status, seconds: seconds, summary: summary)
        }
        workspaces[settings.directory] = OpenWorkspace(workspace: workspace, timeout: timeout, lastUsed: Clock.monotonic())
        if mode == .user {
            log.info("Workspace opened", fields: ["DIRECTORY": settings.directory, "FLAGS": settings.flags.joined(separator: " ")])
            updateServiceStatus()
        }
        return workspace
    }

    /// Closes a user-mode workspace: its engine stops, whoever waits on it gets `reason`.
    func closeWorkspace(_ directory: String, reason: String) {
        guard let open = workspaces.removeValue(forKey: directory) else { return }
        open.workspace.shutdown(reason: reason)
        log.info("Workspace closed", fields: ["DIRECTORY": directory, "REASON": reason])
        updateServiceStatus()
        armIdleTimer()
    }

    func touch(_ directory: String) {
        lastActivity = Clock.monotonic()
        workspaces[directory]?.lastUsed = lastActivity
    }

    private func checkDone(directory: String, status: Int?, seconds: Double, summary: String) {
        let time = PythonRepr.float((seconds * 100).rounded() / 100)
        lastCheck = mode == .user ? "last check \(directory): \(summary) (\(time) s)" : "last check: \(summary) (\(time) s)"
        updateServiceStatus()
    }

    /// The line `systemctl --user status dmypy` shows.
    private func updateServiceStatus() {
        var text: String
        switch mode {
        case .user:
            text = "Serving \(workspaces.count) workspace\(workspaces.count == 1 ? "" : "s")"
        case .project:
            text = "Serving \(configuration.directory)"
        }
        if let lastCheck { text += "; " + lastCheck }
        Systemd.notify("STATUS=\(text)")
    }

    // MARK: connections

    private func acceptConnections() {
        guard let listener else { return }
        while true {
            let fd: FileDescriptor
            switch (try? UnixSocket.accept(listener)) ?? .wouldBlock {
            case .wouldBlock: return
            case .done(let accepted): fd = accepted
            }
            guard let peer = try? UnixSocket.peerCredentials(fd), peer.uid == getuid() else {
                let who = (try? UnixSocket.peerCredentials(fd)).map { "uid \($0.uid), pid \($0.pid)" } ?? "unknown peer"
                log.warning("Refused a connection from \(who): only uid \(getuid()) may use this daemon")
                fd.close()
                continue
            }
            let id = nextConnectionID
            nextConnectionID += 1
            guard let connection = try? ClientConnection(id: id, fd: fd, loop: loop, maximumFrameSize: Daemon.maximumRequestSize) else {
                fd.close()
                continue
            }
            connections[id] = connection
            lastActivity = Clock.monotonic()
            connection.onRequest = { [weak self] connection, request in self?.handle(request, from: connection) }
            connection.onBadRequest = { [weak self] connection, error in self?.reject(connection, error) }
            connection.onClose = { [weak self] connection in self?.closed(connection) }
            if connections.count > Daemon.maximumConnections {
                log.warning("Refused a connection: \(Daemon.maximumConnections) clients are already connected")
                connection.finish(withMetadata(["error": .string("Too many connections to the daemon (limit \(Daemon.maximumConnections)); try again")]))
            }
            armIdleTimer()
        }
    }

    private func closed(_ connection: ClientConnection) {
        connections[connection.id] = nil
        hangs.removeValue(forKey: connection.id)?.close()
        if let (directory, waiter) = waiters.removeValue(forKey: connection.id) {
            workspaces[directory]?.workspace.detach(waiter)
            touch(directory)
        }
        armIdleTimer()
    }

    private func reject(_ connection: ClientConnection, _ error: FrameError) {
        log.warning("Rejected a request: \(error)")
        connection.finish(withMetadata(["error": .string("\(error)")]))
    }

    /// `platform` and `python_version`, as mypy's server adds to every response.
    func withMetadata(_ response: JSONObject, workspace: Workspace? = nil) -> JSONObject {
        var response = response
        response.merge((workspace ?? workspaces.values.first?.workspace)?.metadata ?? [:])
        return response
    }
}

/// Forwards an engine job's output and answer to one client connection.
final class ConnectionWaiter: JobWaiter {
    weak var connection: ClientConnection?

    init(connection: ClientConnection) { self.connection = connection }

    func jobOutput(key: String, text: String) {
        connection?.send([key: .string(text)])
    }

    func jobProgress(_ text: String) {
        connection?.send([ProtocolExtensions.progress: .string(text)])
    }

    func jobFinished(_ response: JSONObject) {
        connection?.finish(response)
    }
}
