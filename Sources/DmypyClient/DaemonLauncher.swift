import DmypySystem
import DmypyWire
import Glibc

/// Starts our daemon in the background, as mypy's `start_server` does, and waits until it serves.
///
/// Instead of polling for the status file (mypy sleeps 0.1 s between looks), the daemon gets one end
/// of a pipe and writes a single frame when its engine has accepted the flags (or why it has not).
enum DaemonLauncher {
    /// How long to wait for a daemon to come up; the engine imports mypy, which takes a while
    /// on a cold disk.
    static let startTimeout: Int32 = 120_000

    struct Request {
        var statusFile: String
        var logFile: String?
        var timeout: Int?
        var flags: [String]
        var allowSources: Bool
    }

    static func start(_ request: Request, context: ClientContext) throws(ClientExit) {
        guard let executable = FileSystem.readLink("/proc/self/exe") else {
            throw Console.fail("dmypy: cannot find its own executable (/proc/self/exe)")
        }
        var arguments = [executable, "--status-file", request.statusFile, "daemon", "--ready-fd", "3"]
        if let timeout = request.timeout { arguments += ["--timeout", String(timeout)] }
        if let logFile = request.logFile { arguments += ["--log-file", logFile] }
        arguments.append("--")
        arguments += request.flags

        var environment = context.environment.map { "\($0.key)=\($0.value)" }
        if request.allowSources { environment.append("DMYPY_SWIFT_ALLOW_SOURCES=1") }
        var ttys: [String] = []
        if FileDescriptor.standardOutput.isTerminal { ttys.append("stdout") }
        if FileDescriptor.standardError.isTerminal { ttys.append("stderr") }
        environment.append("DMYPY_SWIFT_CLIENT_TTY=\(ttys.joined(separator: ","))")

        let ready: (read: FileDescriptor, write: FileDescriptor)
        let devnull: FileDescriptor
        do {
            ready = try FileDescriptor.pipe()
            devnull = try FileDescriptor.open("/dev/null", O_RDWR)
        } catch {
            throw Console.fail("dmypy: could not start the daemon: \(error)")
        }
        defer { devnull.close() }
        var output = devnull
        var logFD: FileDescriptor?
        if let logFile = request.logFile {
            if let fd = try? FileDescriptor.open(logFile, O_WRONLY | O_CREAT | O_APPEND, mode: 0o644) {
                logFD = fd
                output = fd
            }
        }
        defer { logFD?.close() }
        do {
            _ = try Process.spawn(executable, arguments: arguments, environment: environment,
                                  directory: context.directory,
                                  descriptors: [0: devnull, 1: output, 2: output, 3: ready.write],
                                  newSession: true)
        } catch {
            ready.read.close()
            ready.write.close()
            throw Console.fail("dmypy: could not start the daemon: \(error)")
        }
        ready.write.close()
        defer { ready.read.close() }

        let progress = Progress(label: "starting the daemon and its engine")
        progress?.begin()
        var decoder = FrameDecoder()
        var waited: Int32 = 0
        while true {
            if let payload = try? decoder.nextFrame() {
                progress?.end()
                guard let reply = try? FrameDecoder.decodeObject(payload) else {
                    throw Console.fail("dmypy: the daemon sent a malformed start reply")
                }
                Console.out(reply["out"].map(PythonRepr.str) ?? "")
                Console.err(reply["err"].map(PythonRepr.str) ?? "")
                if reply["ok"]?.boolValue == true {
                    Console.print("Daemon started")
                    return
                }
                throw ClientExit(Int32(reply["status"]?.intValue ?? 2))
            }
            let readable = (try? ready.read.poll(events: Int16(POLLIN), timeoutMilliseconds: 250)) ?? true
            if !readable {
                waited += 250
                progress?.tick()
                if waited >= startTimeout {
                    progress?.end()
                    throw Console.fail("Timed out waiting for daemon to start")
                }
                continue
            }
            switch (try? ready.read.read()) ?? .done([]) {
            case .wouldBlock: continue
            case .done(let bytes):
                if bytes.isEmpty {
                    progress?.end()
                    let where_ = request.logFile.map { " (see \($0))" } ?? ""
                    throw Console.fail("Daemon has died before it was ready\(where_)")
                }
                decoder.append(bytes)
            }
        }
    }
}
