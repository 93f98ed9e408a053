import Glibc

// Temporary entry until the CLI parser lands: `dmypy [--status-file F] daemon [--ready-fd N] [--timeout T] [--log-file L] [--] flags`
var arguments = Array(CommandLine.arguments.dropFirst())
var statusFile = ".dmypy.json"
if arguments.first == "--status-file" { statusFile = arguments[1]; arguments.removeFirst(2) }
guard arguments.first == "daemon" else { exit(2) }
arguments.removeFirst()
var readyFD: Int32?
var timeout: Int?
var logFile: String?
while let first = arguments.first {
    if first == "--ready-fd" { readyFD = Int32(arguments[1]); arguments.removeFirst(2) }
    else if first == "--timeout" { timeout = Int(arguments[1]); arguments.removeFirst(2) }
    else if first == "--log-file" { logFile = arguments[1]; arguments.removeFirst(2) }
    else if first == "--" { arguments.removeFirst(); break }
    else { break }
}
exit(DaemonEntry.run(statusFile: statusFile, timeout: timeout, logFile: logFile, flags: arguments, readyFD: readyFD))
