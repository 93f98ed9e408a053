import DmypyWire

/// Our two requests for clients that stay (`dmypy watch`, `dmypy lsp`): a subscription to a
/// build's results, and an editor's unsaved buffer.
extension Daemon {
    /// A `check` or `run` with `dmypy_swift_subscribe`: the connection stays open and gets this
    /// build's result now and after every settled change. It counts as a client waiting on the
    /// workspace (the daemon and the workspace stay while it is connected) until it hangs up.
    func subscribe(_ connection: ClientConnection, to workspace: Workspace, command: String, data: JSONObject) {
        guard command == "check" || command == "run" else {
            connection.finish(withMetadata(["error": .string("Only 'check' and 'run' can be subscribed to, not '\(command)'")],
                                           workspace: workspace))
            return
        }
        let subscription = Subscription(command: command, data: data, connection: connection)
        let closed = connection.onClose
        connection.onClose = { [weak workspace] connection in
            workspace?.unsubscribe(subscription)
            closed(connection)
        }
        log.info("Subscribed", fields: ["COMMAND": command, "DIRECTORY": workspace.settings.directory])
        workspace.subscribe(subscription)
    }

    /// `dmypy_swift_overlay`: `path` is checked as `text` says until `text` is null.
    func setBuffer(_ directory: String, data: JSONObject, connection: ClientConnection) {
        guard let workspace = workspaces[directory]?.workspace else {
            connection.finish(withMetadata(["error": .string("No workspace for \(directory): subscribe to a check or run first")]))
            return
        }
        guard let path = data["path"]?.stringValue, path.hasPrefix("/") else {
            connection.finish(withMetadata(["error": "An overlay needs an absolute 'path'"], workspace: workspace))
            return
        }
        let text: String?
        switch data["text"] {
        case .string(let value)?: text = value
        case .null?, nil: text = nil
        default:
            connection.finish(withMetadata(["error": "An overlay's 'text' is a string or null"], workspace: workspace))
            return
        }
        workspace.setBuffer(path: path, text: text)
        connection.finish(withMetadata([:], workspace: workspace))
    }
}
