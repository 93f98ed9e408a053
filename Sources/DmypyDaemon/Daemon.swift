import DmypyEngine
import DmypySystem
import DmypyWire
import Glibc

/// The daemon: one epoll loop owning the listening socket, the clients, the signals, the idle
/// timer and the workspace's engine.
public final class Daemon {
    /// Limits on what clients control.
    public static let maximumConnections = 256
    public static let maximumRequestSize = 64 * 1024 * 1024

    private let configuration: DaemonConfiguration
    private let loop: EventLoop
    private let log: Log
    private var listener: FileDescriptor?
    private var listenerRegistration: EventLoop.Registration?
    private var socketDirectory: String?
    private var privateDirectory = ""
    private(set) var connectionName = ""
    private var workspace: Workspace?
    private var connections: [Int: ClientConnection] = [:]
    private var nextConnectionID = 1
    private var idleTimer: LoopTimer?
    private var signals: FileDescriptor?
    private var hangs: [Int: LoopTimer] = [:]
    private var exitStatus: Int32 = 0
    private var statusFileWritten = false
    private let startedAt = Clock.monotonic()

    public init(configuration: DaemonConfiguration) throws(SystemError) {
        self.configuration = configuration
        loop = try EventLoop()
        log = Log(toJournal: Systemd.stderrIsJournal())
    }

    /// Serves until stopped; returns the exit status.
    public func run() -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        do {
            try setUp()
        } catch {
            reportStart(["ok": false, "out": "", "err": .string("dmypy: could not start the daemon: \(error)\n"), "status": 2])
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

        let adapterPath = try EngineAdapter.install(in: privateDirectory)
        let settings = Workspace.Settings(
            directory: configuration.directory,
            environment: configuration.environment,
            flags: configuration.flags,
            allowSources: configuration.allowSources,
            stdoutTTY: configuration.stdoutTTY,
            stderrTTY: configuration.stderrTTY
        )
        let workspace = Workspace(settings: settings, loop: loop, log: log, adapterPath: adapterPath)
        self.workspace = workspace
        workspace.onFirstStart = { [weak self] reply in self?.engineStarted(reply) }
        idleTimer = try LoopTimer(loop: loop) { [weak self] in self?.idleTimeout() }
        log.info("Daemon starting", fields: ["DIRECTORY": configuration.directory, "SOCKET": connectionName])
        workspace.start()
    }

    private func engineStarted(_ reply: JSONObject) {
        guard reply["ok"]?.boolValue == true else {
            reportStart(reply)
            exitStatus = Int32(reply["status"]?.intValue ?? 2)
            loop.stop()
            return
        }
        do {
            try StatusFile.write(configuration.statusFile, pid: getpid(), connectionName: connectionName)
            statusFileWritten = true
        } catch {
            reportStart(["ok": false, "out": "", "err": .string("dmypy: could not write the status file \(configuration.statusFile): \(error)\n"), "status": 2])
            exitStatus = 2
            loop.stop()
            return
        }
        reportStart(reply)
        Systemd.notify("READY=1\nSTATUS=Serving \(configuration.directory)")
        log.info("Daemon ready", fields: ["PYTHON": workspace?.interpreter?.path ?? "", "MYPY_VERSION": workspace?.interpreter?.mypyVersion ?? ""])
        armIdleTimer()
    }

    /// Tells the starting client how the start went (or prints it, when run in the foreground).
    private func reportStart(_ reply: JSONObject) {
        let out = reply["out"]?.stringValue ?? ""
        let err = reply["err"]?.stringValue ?? ""
        if let fd = configuration.readyFD {
            let descriptor = FileDescriptor(rawValue: fd)
            let message: JSONObject = ["ok": reply["ok"] ?? false, "out": .string(out), "err": .string(err), "status": reply["status"] ?? 0]
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
            log.info("Received signal \(signal); shutting down")
            shutDown(reason: "Daemon is shutting down (signal \(signal))", removeStatusFile: true)
        }
    }

    private func idleTimeout() {
        guard connections.isEmpty, !(workspace?.isBusy ?? false) else { return }
        log.info("No request for \(configuration.timeout ?? 0) s; exiting")
        shutDown(reason: "Daemon timed out", removeStatusFile: true)
    }

    private func armIdleTimer() {
        guard let timeout = configuration.timeout, timeout > 0 else { return }
        if connections.isEmpty && !(workspace?.isBusy ?? false) {
            idleTimer?.schedule(after: Double(timeout))
        } else {
            idleTimer?.cancel()
        }
    }

    /// Stops serving: answers everyone still waiting, stops the engine; the loop then exits.
    private func shutDown(reason: String, removeStatusFile: Bool) {
        Systemd.notify("STOPPING=1")
        if removeStatusFile && statusFileWritten {
            StatusFile.remove(configuration.statusFile, pid: getpid())
            statusFileWritten = false
        }
        if let registration = listenerRegistration {
            loop.deregister(registration)
            listenerRegistration = nil
        }
        workspace?.shutdown(reason: reason)
        for connection in connections.values { connection.close() }
        loop.stop()
    }

    private func cleanUp() {
        workspace?.shutdown(reason: "Daemon stopped")
        if statusFileWritten { StatusFile.remove(configuration.statusFile, pid: getpid()) }
        listener?.close()
        if let socketDirectory {
            FileSystem.remove("\(socketDirectory)/dmypy.sock")
        }
        FileSystem.remove("\(privateDirectory)/dmypy_engine_adapter.py")
        FileSystem.removeDirectory(privateDirectory)
        log.info("Daemon stopped")
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
        if let waiter = waiters.removeValue(forKey: connection.id) { workspace?.detach(waiter) }
        armIdleTimer()
    }

    private func reject(_ connection: ClientConnection, _ error: FrameError) {
        log.warning("Rejected a request: \(error)")
        connection.finish(withMetadata(["error": .string("\(error)")]))
    }

    private func withMetadata(_ response: JSONObject) -> JSONObject {
        var response = response
        response.merge(workspace?.metadata ?? [:])
        return response
    }

    // MARK: requests

    private var waiters: [Int: ConnectionWaiter] = [:]

    private func handle(_ request: JSONObject, from connection: ClientConnection) {
        guard let commandValue = request["command"] else {
            connection.finish(withMetadata(["error": "No command found in request"]))
            return
        }
        guard let command = commandValue.stringValue else {
            connection.finish(withMetadata(["error": "Command is not a string"]))
            return
        }
        var data = request
        data.removeValue(forKey: "command")
        switch command {
        case "status" where data["fswatcher_dump_file"] == nil || data["fswatcher_dump_file"] == .null:
            connection.finish(withMetadata(status()))
        case "stop":
            if statusFileWritten {
                StatusFile.remove(configuration.statusFile, pid: getpid())
                statusFileWritten = false
            }
            connection.finish(withMetadata([:]))
            log.info("Stopped by request")
            shutDown(reason: "Daemon stopped", removeStatusFile: true)
        case "hang":
            guard let timer = try? LoopTimer(loop: loop, action: { [weak self, weak connection] in
                connection?.finish(self?.withMetadata([:]) ?? [:])
            }) else { return }
            timer.schedule(after: 100)
            hangs[connection.id] = timer
        default:
            // mypy's server drops these two for all but check/recheck/run, and needs them present.
            if data["is_tty"] == nil { data["is_tty"] = false }
            if data["terminal_width"] == nil { data["terminal_width"] = 80 }
            guard let workspace else { return }
            // Our extensions never reach mypy, whose commands take the request's fields as arguments.
            if data.removeValue(forKey: ProtocolExtensions.ourClient)?.isTruthy == true, command == "run" {
                data["version"] = .string(workspace.interpreter?.mypyVersion ?? "")
            }
            data.removeValue(forKey: ProtocolExtensions.workingDirectory)
            let waiter = ConnectionWaiter(connection: connection)
            waiters[connection.id] = waiter
            idleTimer?.cancel()
            workspace.submit(command: command, data: data, waiter: waiter)
        }
    }

    /// mypy's status fields (memory, from /proc instead of psutil) and ours.
    private func status() -> JSONObject {
        var response: JSONObject = workspace?.memory() ?? [:]
        response["pid"] = .int(Int(getpid()))
        if let workspace {
            response["engine_pid"] = workspace.enginePID.map { .int(Int($0)) } ?? .null
            response["engine_starts"] = .int(workspace.engineStarts)
            response["engine_busy"] = .bool(workspace.isBusy)
            response["python_executable"] = workspace.interpreter.map { .string($0.path) } ?? .null
            response["mypy_version"] = workspace.interpreter.map { .string($0.mypyVersion) } ?? .null
            response["modules_in_graph"] = .int(workspace.modulesInGraph)
            response["last_check_seconds"] = workspace.lastCheckSeconds.map { .double($0) } ?? .null
            response.merge(workspace.statusFields())
        }
        response["uptime_seconds"] = .double(Clock.monotonic() - startedAt)
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

    func jobFinished(_ response: JSONObject) {
        connection?.finish(response)
    }
}
