import DmypySystem

/// When the daemon, or one of its workspaces, has been idle long enough to go.
extension Daemon {
    /// Project mode: mypy's `--timeout`, no request for that long and nothing running. User
    /// mode: each workspace closes after its own timeout without a request, and the daemon exits
    /// once none is left and it has been idle as long.
    func idleTimeout() {
        let now = Clock.monotonic()
        switch mode {
        case .project:
            guard connections.isEmpty else { return }   // re-armed when the last one closes
            if workspaces.values.contains(where: { $0.workspace.hasBackgroundWork }) {
                // A pre-check of a file change, or a cache write, is running: not a request, but
                // let it finish (under systemd, what is left of the service when it exits is killed).
                idleTimer?.schedule(after: 1)
                return
            }
            log.info("No request for \(configuration.timeout ?? 0) s; exiting")
            shutDown(reason: "Daemon timed out")
        case .user:
            let inUse = Set(waiters.values.map(\.workspace))
            for (directory, open) in workspaces {
                guard let timeout = open.timeout, timeout > 0, now - open.lastUsed >= Double(timeout),
                      !open.workspace.hasBackgroundWork, !inUse.contains(directory) else { continue }
                closeWorkspace(directory, reason: "Workspace timed out after \(timeout) s without a request")
            }
            if workspaces.isEmpty, connections.isEmpty, let timeout = configuration.timeout, timeout > 0,
               now - lastActivity >= Double(timeout) {
                log.info("No workspace left and no request for \(timeout) s; exiting (systemd keeps the socket)")
                shutDown(reason: "Daemon timed out")
                return
            }
            armIdleTimer()
        }
    }

    func armIdleTimer() {
        switch mode {
        case .project:
            guard let timeout = configuration.timeout, timeout > 0 else { return }
            if connections.isEmpty {
                idleTimer?.schedule(after: Double(timeout))
            } else {
                idleTimer?.cancel()
            }
        case .user:
            let now = Clock.monotonic()
            var deadlines = workspaces.values.compactMap { open in
                open.timeout.flatMap { $0 > 0 ? open.lastUsed + Double($0) : nil }
            }
            if workspaces.isEmpty, let timeout = configuration.timeout, timeout > 0 {
                deadlines.append(lastActivity + Double(timeout))
            }
            guard let next = deadlines.min() else {
                idleTimer?.cancel()
                return
            }
            // A busy workspace (a pre-check) is looked at again a second later.
            idleTimer?.schedule(after: max(next - now, 1))
        }
    }
}
