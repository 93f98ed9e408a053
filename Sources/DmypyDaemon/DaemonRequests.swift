import DmypySystem
import DmypyWire
import Glibc

/// What the daemon does with each request: `status`, `stop`, `hang` and our `start` itself, every
/// other command through the request's workspace and its engine.
extension Daemon {
    func handle(_ request: JSONObject, from connection: ClientConnection) {
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
        // Our extensions never reach mypy, whose commands take the request's fields as arguments.
        let directory = data.removeValue(forKey: ProtocolExtensions.workingDirectory)?.stringValue
        let environment = data.removeValue(forKey: ProtocolExtensions.environment)?.arrayValue?.compactMap(\.stringValue)
        let ourClient = data.removeValue(forKey: ProtocolExtensions.ourClient)?.isTruthy == true
        let subscribing = data.removeValue(forKey: ProtocolExtensions.subscribe)?.isTruthy == true

        let key: String
        switch mode {
        case .project:
            key = configuration.directory
        case .user:
            guard let directory, directory.hasPrefix("/") else {
                connection.finish(withMetadata([
                    "error": "This dmypy daemon serves all of the user's projects (systemd socket activation); a request must name its directory, as dmypy-swift's client does",
                ]))
                return
            }
            key = directory
        }
        touch(key)

        switch command {
        case "status" where data["fswatcher_dump_file"] == nil || data["fswatcher_dump_file"] == .null:
            connection.finish(withMetadata(status(key), workspace: workspaces[key]?.workspace))
        case "stop":
            stop(key, connection)
        case "hang":
            guard let timer = try? LoopTimer(loop: loop, action: { [weak self, weak connection] in
                connection?.finish(self?.withMetadata([:]) ?? [:])
            }) else { return }
            timer.schedule(after: 100)
            hangs[connection.id] = timer
        case ProtocolExtensions.startCommand where mode == .user:
            startWorkspace(key, data: data, environment: environment, connection: connection)
        case ProtocolExtensions.overlayCommand:
            setBuffer(key, data: data, connection: connection)   // DaemonSubscriptions.swift
        default:
            let workspace: Workspace
            if let open = workspaces[key] {
                workspace = open.workspace
            } else {
                // The first request from a directory opens its workspace, as `dmypy run` (with the
                // run's arguments) or `dmypy start` (with the project's configuration) would.
                let arguments = command == "run" ? data["args"]?.arrayValue?.compactMap(\.stringValue) ?? [] : []
                workspace = openWorkspace(settings(key, environment: environment, flags: arguments, allowSources: command == "run",
                                                   data: data), timeout: configuration.timeout)
                workspace.start()
            }
            // mypy's server drops these two for all but check/recheck/run, and needs them present.
            if data["is_tty"] == nil { data["is_tty"] = false }
            if data["terminal_width"] == nil { data["terminal_width"] = 80 }
            if ourClient, command == "run" {
                data["version"] = .null   // the engine's own version, filled in when it is sent (`Workspace.pump`)
            }
            let waiter = ConnectionWaiter(connection: connection)
            waiters[connection.id] = (key, waiter)
            if subscribing { return subscribe(connection, to: workspace, command: command, data: data) }   // DaemonSubscriptions.swift
            armIdleTimer()
            workspace.submit(command: command, data: data, waiter: waiter)
        }
    }

    private func settings(_ directory: String, environment: [String]?, flags: [String], allowSources: Bool,
                          data: JSONObject) -> Workspace.Settings {
        Workspace.Settings(
            directory: directory,
            environment: environment ?? configuration.environment,
            flags: flags,
            allowSources: allowSources,
            stdoutTTY: data["stdout_tty"]?.boolValue ?? false,
            stderrTTY: data["stderr_tty"]?.boolValue ?? false
        )
    }

    /// `dmypy start` under socket activation: a workspace for the directory, with the flags.
    private func startWorkspace(_ directory: String, data: JSONObject, environment: [String]?, connection: ClientConnection) {
        guard workspaces[directory] == nil else {
            connection.finish(withMetadata(["error": "Daemon is still alive"], workspace: workspaces[directory]?.workspace))
            return
        }
        let flags = data["flags"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let timeout = data["timeout"]?.intValue ?? configuration.timeout
        let workspace = openWorkspace(settings(directory, environment: environment, flags: flags,
                                               allowSources: data["allow_sources"]?.boolValue ?? false, data: data),
                                      timeout: timeout)
        workspace.onFirstStart = { [weak self, weak connection] start in
            guard let self else { return }
            var answer: JSONObject = ["ok": .bool(start.ok), "out": .string(start.out), "err": .string(start.err),
                                      "status": .int(start.ok ? 0 : start.status)]
            answer.merge(workspace.metadata)
            connection?.finish(answer)
            if !start.ok {
                // mypy refused the flags: as a daemon that failed to start, nothing stays behind.
                self.closeWorkspace(directory, reason: "mypy refused the workspace's options")
            }
        }
        workspace.start()
    }

    private func stop(_ directory: String, _ connection: ClientConnection) {
        switch mode {
        case .project:
            if statusFileWritten {
                StatusFile.remove(configuration.statusFile, pid: getpid())
                statusFileWritten = false
            }
            connection.finish(withMetadata([:]))
            log.info("Stopped by request")
            shutDown(reason: "Daemon stopped")
        case .user:
            guard let open = workspaces[directory] else {
                connection.finish(withMetadata(["error": .string("The user daemon (\(connectionName)) has no workspace for \(directory)")]))
                return
            }
            let metadata = open.workspace.metadata
            closeWorkspace(directory, reason: "Daemon stopped")
            var response: JSONObject = [:]
            response.merge(metadata)
            connection.finish(response)
        }
    }

    /// mypy's status fields (memory, from /proc instead of psutil) and ours.
    private func status(_ directory: String) -> JSONObject {
        let workspace = workspaces[directory]?.workspace
        var response: JSONObject = workspace?.memory() ?? [:]
        response["pid"] = .int(Int(getpid()))
        if mode == .user {
            response["workspaces"] = .int(workspaces.count)
            response["workspace"] = workspace == nil ? .null : .string(directory)
        }
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
