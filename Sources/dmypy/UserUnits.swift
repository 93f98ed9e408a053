import DmypySystem
import Glibc

/// `dmypy install-units`: the systemd user units for the running binary, written where systemd
/// looks for a user's own units, for a `dmypy` that came without them (a wheel installed by pip,
/// pipx or uv). The texts are systemd/dmypy.socket and systemd/dmypy.service.in, which `make
/// install` and the Debian package use; PackagingTests check that what this writes equals them.
enum UserUnits {
    static let socket = """
        [Unit]
        Description=mypy daemon socket (dmypy-swift)
        Documentation=https://mypy.readthedocs.io/en/stable/mypy_daemon.html

        [Socket]
        ListenStream=%t/dmypy.sock
        SocketMode=0600
        DirectoryMode=0700

        [Install]
        WantedBy=sockets.target

        """

    /// `@BINDIR@` is the directory of the binary.
    static let serviceTemplate = """
        [Unit]
        Description=mypy daemon (dmypy-swift)
        Requires=dmypy.socket
        After=dmypy.socket

        [Service]
        Type=notify
        ExecStart=@BINDIR@/dmypy daemon --timeout 3600
        Restart=on-failure
        RestartSec=1
        WatchdogSec=30
        # A runaway engine is reclaimed, not the desktop.
        MemoryHigh=6G
        MemoryMax=8G
        TasksMax=64
        NoNewPrivileges=yes

        """

    enum Failure: Error {
        case message(String)
    }

    /// The service for the binary at `executable` (a real path): its ExecStart runs that file,
    /// whatever it is called, with `%` and characters systemd would split on quoted.
    static func service(executable: String) -> String {
        var escaped = ""
        for character in executable { escaped += character == "%" ? "%%" : String(character) }
        let needsQuotes = escaped.contains { $0 == " " || $0 == "\t" || $0 == "\"" || $0 == "'" || $0 == "\\" || $0 == ";" }
        var command = escaped
        if needsQuotes {
            command = "\""
            for character in escaped { command += character == "\\" || character == "\"" ? "\\\(character)" : String(character) }
            command += "\""
        }
        return serviceTemplate.replacing("@BINDIR@/dmypy", with: command)
    }

    /// `$XDG_CONFIG_HOME/systemd/user`, or `$HOME/.config/systemd/user` (the XDG default, also
    /// when XDG_CONFIG_HOME is set but relative, which the XDG spec says to ignore).
    static func directory(environment: [String: String]) throws(Failure) -> String {
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") { return config + "/systemd/user" }
        guard let home = environment["HOME"], home.hasPrefix("/") else {
            throw .message("dmypy install-units: neither XDG_CONFIG_HOME nor HOME is set to an absolute path: where do your user units go?")
        }
        return home + "/.config/systemd/user"
    }

    /// Writes both units; returns the directory and the ExecStart path.
    static func install(environment: [String: String]) throws(Failure) -> (directory: String, executable: String) {
        guard let executable = FileSystem.readLink("/proc/self/exe") else {
            throw .message("dmypy install-units: cannot read /proc/self/exe: \(String(cString: strerror(errno)))")
        }
        let directory = try directory(environment: environment)
        try makeDirectories(directory)
        for (name, text) in [("dmypy.socket", socket), ("dmypy.service", service(executable: executable))] {
            do {
                try FileSystem.writeAtomically("\(directory)/\(name)", Array(text.utf8), mode: 0o644)
            } catch {
                throw .message("dmypy install-units: cannot write \(directory)/\(name): \(error.reason)")
            }
        }
        return (directory, executable)
    }

    /// `mkdir -p`, 0755 as systemctl makes them.
    private static func makeDirectories(_ path: String) throws(Failure) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .message("dmypy install-units: cannot create \(prefix): \(String(cString: strerror(errno)))")
            }
        }
        guard FileSystem.isDirectory(path) else {
            throw .message("dmypy install-units: \(path) is not a directory")
        }
    }

    /// The subcommand: exit 0 with what was written, or 2 with why not.
    static func run(environment: [String: String]) -> Int32 {
        do {
            let (directory, executable) = try install(environment: environment)
            var text = "Installed dmypy.socket and dmypy.service in \(directory)\n"
            if FileDescriptor.standardOutput.isTerminal {
                text += "  ExecStart=\(executable) daemon --timeout 3600\n"
                text += "Now run: systemctl --user enable --now dmypy.socket\n"
                text += "(after replacing units already in use: systemctl --user daemon-reload && systemctl --user restart dmypy.socket)\n"
            }
            try? FileDescriptor.standardOutput.writeAll(Array(text.utf8))
            return 0
        } catch {
            switch error {
            case .message(let message): FileDescriptor.standardError.writeLine(message)
            }
            return 2
        }
    }
}
