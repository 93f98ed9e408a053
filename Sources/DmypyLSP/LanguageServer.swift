import DmypyClient
import DmypySystem
import DmypyWire
import Glibc

/// `dmypy lsp`: a Language Server Protocol 3.17 server on stdin/stdout, a client of the daemon.
///
/// Each workspace folder is a workspace of the daemon (found or started as `dmypy run` does) with a
/// subscription to its build: every result the daemon produces, for a save in the editor, a `git
/// pull` or a formatter alike, is pushed as `textDocument/publishDiagnostics`, and kept for pull
/// requests. Unsaved buffers go to the daemon's engine as overlays (mypy's shadow files) after a
/// short pause in typing. Hover and go to definition are mypy's inspections.
///
/// stdout carries LSP frames only: at start fd 1 becomes a private descriptor for the frames and
/// fd 1 is pointed at stderr, so nothing else (a daemon start's "Daemon started") can reach it.
public enum LanguageServer {
    public static func run(context: ClientContext, flags: [String]) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let output = FileDescriptor(rawValue: dup(1))
        dup2(2, 1)
        _ = try? output.setCloseOnExec(true)
        do {
            let server = try Server(context: context, flags: flags, output: output)
            return server.run()
        } catch {
            try? FileDescriptor.standardError.writeAll(Array("dmypy lsp: \(error)\n".utf8))
            return 2
        }
    }
}

/// The server's state machine: messages in, actions on the loop.
final class Server {
    enum Phase: Equatable {
        case uninitialized
        case running
        /// `shutdown` answered: only `exit` is expected.
        case shutDown
    }

    /// Typing pauses this long before the buffer is checked.
    static let debounce = 0.15
    /// A check running longer than this shows `$/progress`.
    static let progressDelay = 0.3

    struct Document {
        var path: String
        var version: Int
        var text: String
        /// The daemon checks this buffer instead of the file.
        var overlaid = false
        var timer: LoopTimer?
    }

    let context: ClientContext
    let cliFlags: [String]
    let output: FileDescriptor
    let loop: EventLoop
    private var input: EventLoop.Registration?
    private var framer = MessageFramer()
    private(set) var phase: Phase = .uninitialized
    private var exitStatus: Int32 = 1
    private var initialize: InitializeParams?
    private var folders: [Folder] = []
    private var documents: [String: Document] = [:]
    private var progressTimer: LoopTimer?
    private var progressToken: String?
    private var progressMessage = ""
    private var nextRequestID = 1
    private var nextToken = 1

    init(context: ClientContext, flags: [String], output: FileDescriptor) throws(SystemError) {
        self.context = context
        cliFlags = flags
        self.output = output
        loop = try EventLoop()
        try FileDescriptor.standardInput.setNonBlocking()
        input = try loop.register(.standardInput, [.input, .readHangup]) { [weak self] _ in self?.readInput() }
        progressTimer = try LoopTimer(loop: loop) { [weak self] in self?.beginProgress() }
    }

    func run() -> Int32 {
        do {
            try loop.run()
        } catch {
            log("the event loop failed: \(error)", type: 1)
        }
        for folder in folders { folder.link?.close() }
        return exitStatus
    }

    // MARK: the editor's side

    private func readInput() {
        while input != nil {
            switch (try? FileDescriptor.standardInput.read()) ?? .done([]) {
            case .wouldBlock:
                return
            case .done(let bytes):
                if bytes.isEmpty {
                    // The editor went away without `exit`.
                    stop(status: phase == .shutDown ? 0 : 1)
                    return
                }
                framer.append(bytes)
                while input != nil {
                    let body: [UInt8]?
                    do {
                        body = try framer.next()
                    } catch {
                        log("unreadable LSP frame (\(error)); stopping", type: 1)
                        stop(status: 1)
                        return
                    }
                    guard let body else { break }
                    dispatch(body)
                }
            }
        }
    }

    private func dispatch(_ body: [UInt8]) {
        let message: IncomingMessage
        do {
            message = try IncomingMessage(body)
        } catch {
            switch error {
            case .invalid(let why):
                send(["jsonrpc": "2.0", "id": .null, "error": .object(["code": -32600, "message": .string("Invalid message: \(why)")])])
            case .invalidParams(let id, let method):
                reply(id, error: -32602, "Invalid params for \(method)")
            }
            return
        }
        switch message {
        case .request(let id, let request):
            handle(request, id: id)
        case .notification(let notification):
            handle(notification)
        case .response:
            break   // our window/workDoneProgress/create, acknowledged
        }
    }

    private func handle(_ request: Request, id: JSON) {
        if case .initialize = request {} else if phase == .uninitialized {
            return reply(id, error: -32002, "The server is not initialized")
        }
        if phase == .shutDown { return reply(id, error: -32600, "The server is shut down") }
        switch request {
        case .initialize(let params):
            guard phase == .uninitialized else { return reply(id, error: -32600, "initialize was sent twice") }
            initialize = params
            phase = .running
            reply(id, result: .object([
                "capabilities": .object([
                    "positionEncoding": "utf-16",
                    "textDocumentSync": .object(["openClose": true, "change": 1, "save": .object(["includeText": false])]),
                    "hoverProvider": true,
                    "definitionProvider": true,
                    "diagnosticProvider": .object(["interFileDependencies": true, "workspaceDiagnostics": true]),
                ]),
                "serverInfo": .object(["name": "dmypy-swift"]),
            ]))
        case .shutdown:
            phase = .shutDown
            reply(id, result: .null)
        case .hover(let position):
            inspect(position, show: "type", id: id)
        case .definition(let position):
            inspect(position, show: "definition", id: id)
        case .documentDiagnostic(let uri):
            let items = FileURI.path(uri).flatMap { path in folder(for: path)?.diagnostics[path] } ?? []
            reply(id, result: .object(["kind": "full", "items": .array(items)]))
        case .workspaceDiagnostic:
            var reports: [JSON] = []
            for folder in folders {
                for (path, items) in folder.diagnostics.sorted(by: { $0.key < $1.key }) where !items.isEmpty {
                    reports.append(.object(["uri": .string(FileURI.uri(path)), "kind": "full", "version": .null, "items": .array(items)]))
                }
            }
            reply(id, result: .object(["items": .array(reports)]))
        case .unknown(let method):
            reply(id, error: -32601, "Method not found: \(method)")
        }
    }

    private func handle(_ notification: Notification) {
        if phase == .uninitialized, notification != .exit { return }
        switch notification {
        case .initialized:
            openFolders()
        case .exit:
            stop(status: phase == .shutDown ? 0 : 1)
        case .didOpen(let uri, let version, let text):
            guard let path = FileURI.path(uri) else { return }
            documents[uri] = Document(path: path, version: version, text: text)
            // Checked as the buffer says only when it differs from the file.
            if FileSystem.read(path).map({ String(decoding: $0, as: UTF8.self) }) != text { scheduleOverlay(uri) }
        case .didChange(let uri, let version, let text):
            guard var document = documents[uri], let text else { return }
            document.version = version
            document.text = text
            documents[uri] = document
            scheduleOverlay(uri)
        case .didSave(let uri):
            // The file on disk is the buffer now: the overlay goes (if any), and saying so makes
            // the daemon take the write at once instead of after its watcher's settle.
            guard let document = documents[uri] else { return }
            document.timer?.close()
            documents[uri]?.timer = nil
            sendOverlay(uri, text: nil)
        case .didClose(let uri):
            guard let document = documents.removeValue(forKey: uri) else { return }
            document.timer?.close()
            if document.overlaid { sendOverlay(document, text: nil) }
        case .ignored:
            break
        }
    }

    // MARK: folders and their subscriptions

    private func openFolders() {
        guard let params = initialize else { return }
        var paths = params.folders.compactMap { FileURI.path($0.uri) }
        if paths.isEmpty { paths = [context.directory] }
        for path in paths {
            let folder = Folder(path: path, environment: context.environment, userFlags: cliFlags + params.flags, targets: params.targets)
            folders.append(folder)
            subscribe(folder)
        }
    }

    private func subscribe(_ folder: Folder) {
        let subscription: BuildSubscription
        do {
            subscription = try folder.prepare()
        } catch {
            log("cannot start or reach the daemon for \(folder.path) (exit status \(error.status)); see the messages above", type: 1)
            return
        }
        do {
            let link = try SubscriptionLink(loop: loop, subscription: subscription)
            link.onEvent = { [weak self, unowned folder] event in self?.handle(event, of: folder) }
            link.onClose = { [weak self, unowned folder] in self?.lost(folder) }
            folder.link = link
            folder.checking = true
            log("watching \(folder.path) (mypy \(folder.flags.joined(separator: " ")))")
            // Buffers opened before the folder was ready.
            for (uri, document) in documents where document.overlaid && folder.contains(document.path) {
                sendOverlay(uri, text: document.text)
            }
        } catch {
            log("cannot subscribe to \(folder.path): \(error)", type: 1)
        }
    }

    private func handle(_ event: SubscriptionEvent, of folder: Folder) {
        switch event {
        case .progress(let text):
            if text.contains("restarting the engine") || text.contains("mypy crashed") {
                markRechecking(folder, because: text)
            }
            folder.checking = true
            progressMessage = text
            if let token = progressToken {
                send(notification: "$/progress", ["token": .string(token), "value": .object(["kind": "report", "message": .string(text)])])
            } else if initialize?.workDoneProgress == true {
                progressTimer?.schedule(after: Server.progressDelay)
            }
        case .output(_, let text):
            log(text.hasSuffix("\n") ? String(text.dropLast()) : text)
        case .refused(let frame):
            log("the daemon refused the subscription for \(folder.path): \(frame["error"].map(PythonRepr.str) ?? "?")", type: 1)
        case .result(let result):
            if let reason = result.restart, !folder.restarted {
                // As `dmypy run`: the daemon was started with other options; start it with ours.
                folder.restarted = true
                log("restarting the daemon for \(folder.path): \(reason)")
                folder.link?.close()
                do { try folder.restartDaemon() } catch { log("cannot restart the daemon (status \(error.status))", type: 1) }
                subscribe(folder)
                return
            }
            folder.checking = false
            endProgress()
            if let error = result.error {
                log("mypy could not check \(folder.path): \(error)", type: 1)
                return
            }
            if !result.err.isEmpty { log(result.err.hasSuffix("\n") ? String(result.err.dropLast()) : result.err, type: 2) }
            publish(MypyDiagnostics.byFile(result.out), for: folder)
        }
    }

    private func publish(_ diagnostics: [String: [JSON]], for folder: Folder) {
        let previous = folder.diagnostics
        folder.diagnostics = diagnostics
        for path in Set(previous.keys).union(diagnostics.keys).sorted() {
            let items = diagnostics[path] ?? []
            if items.isEmpty && (previous[path] ?? []).isEmpty { continue }
            if items == previous[path] { continue }
            publish(path, items)
        }
    }

    private func publish(_ path: String, _ items: [JSON]) {
        let uri = FileURI.uri(path)
        var params: JSONObject = ["uri": .string(uri), "diagnostics": .array(items)]
        if let version = documents[uri]?.version { params["version"] = .int(version) }
        send(notification: "textDocument/publishDiagnostics", params)
    }

    /// The engine restarts (a crash, new options): the diagnostics stay, marked, until the new ones.
    private func markRechecking(_ folder: Folder, because reason: String) {
        log("\(folder.path): \(reason)", type: 2)
        for (path, items) in folder.diagnostics.sorted(by: { $0.key < $1.key }) where !items.isEmpty {
            publish(path, items.map { item in
                guard case .object(var diagnostic) = item else { return item }
                diagnostic["message"] = .string("(re-checking) " + (diagnostic["message"]?.stringValue ?? ""))
                return .object(diagnostic)
            })
        }
        // What the editor shows now is marked; the next result replaces it whatever it is.
        folder.diagnostics = folder.diagnostics.mapValues { $0.map { _ in .null } }
    }

    /// The daemon went away: start it again (as `run` would) and subscribe again.
    private func lost(_ folder: Folder) {
        folder.link = nil
        guard phase == .running else { return }
        markRechecking(folder, because: "the daemon closed the connection; starting it again")
        subscribe(folder)
    }

    private func folder(for path: String) -> Folder? {
        folders.filter { $0.contains(path) }.max { $0.path.count < $1.path.count }
    }

    // MARK: unsaved buffers

    private func scheduleOverlay(_ uri: String) {
        guard var document = documents[uri] else { return }
        if document.timer == nil {
            document.timer = try? LoopTimer(loop: loop) { [weak self] in
                guard let self, let document = self.documents[uri] else { return }
                self.sendOverlay(uri, text: document.text)
            }
        }
        document.timer?.schedule(after: Server.debounce)
        documents[uri] = document
    }

    private func sendOverlay(_ uri: String, text: String?) {
        guard let document = documents[uri] else { return }
        documents[uri]?.overlaid = text != nil
        sendOverlay(document, text: text)
    }

    private func sendOverlay(_ document: Document, text: String?) {
        guard let folder = folder(for: document.path), let subscription = folder.subscription else { return }
        let request = folder.request(ProtocolExtensions.overlayCommand, ["path": .string(document.path), "text": text.map { .string($0) } ?? .null])
        DaemonCall.send(loop: loop, path: subscription.connectionName, request: request) { [weak self] answer in
            if let error = answer["error"] { self?.log("overlay of \(document.path): \(PythonRepr.str(error))", type: 1) }
        }
    }

    // MARK: hover and definition, through mypy's inspections

    private func inspect(_ position: TextPosition, show: String, id: JSON) {
        guard let path = FileURI.path(position.uri), let folder = folder(for: path), let subscription = folder.subscription else {
            return reply(id, result: .null)
        }
        let request = folder.request("inspect", [
            "show": .string(show), "location": .string("\(path):\(position.line + 1):\(position.character + 1)"),
            "verbosity": 0, "limit": .int(show == "type" ? 1 : 0), "include_span": .bool(show == "type"), "include_kind": false,
            "include_object_attrs": false, "union_attrs": false, "force_reload": false,
        ])
        DaemonCall.send(loop: loop, path: subscription.connectionName, request: request) { [weak self] answer in
            guard let self else { return }
            let out = answer["out"]?.stringValue ?? ""
            guard answer["error"] == nil, answer["status"]?.intValue == 0, !out.isEmpty else {
                if let error = answer["error"] { self.log("inspect: \(PythonRepr.str(error))", type: 3) }
                return self.reply(id, result: .null)
            }
            let lines = out.split(separator: "\n").map(String.init)
            self.reply(id, result: show == "type" ? Server.hover(lines[0]) : .array(lines.flatMap { Server.locations($0, relativeTo: folder.path) }))
        }
    }

    /// `3:10:3:10 -> "int"` (mypy's span, 1-based and inclusive, with `--include-span`) as a
    /// hover with its range.
    static func hover(_ line: String) -> JSON {
        var hover: JSONObject = [:]
        var type = line
        if let arrow = line.firstRange(of: " -> ") {
            let span = line[..<arrow.lowerBound].split(separator: ":").compactMap { Int($0) }
            type = String(line[arrow.upperBound...])
            if span.count == 4 {
                hover["range"] = .object(["start": .object(["line": .int(span[0] - 1), "character": .int(span[1] - 1)]),
                                          "end": .object(["line": .int(span[2] - 1), "character": .int(span[3])])])
            }
        }
        if type.hasPrefix("\""), type.hasSuffix("\""), type.count >= 2 { type = String(type.dropFirst().dropLast()) }
        hover["contents"] = .object(["kind": "markdown", "value": .string("```python\n\(type)\n```")])
        return .object(hover)
    }

    /// mypy's definitions, `path:line:column:name` separated by ", ", as locations.
    static func locations(_ line: String, relativeTo directory: String) -> [JSON] {
        line.split(separator: ", ").compactMap { item -> JSON? in
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count >= 4, let l = Int(parts[parts.count - 3]), let c = Int(parts[parts.count - 2]) else { return nil }
            let path = parts[..<(parts.count - 3)].joined(separator: ":")
            let name = parts[parts.count - 1]
            let start: JSON = .object(["line": .int(l - 1), "character": .int(max(c - 1, 0))])
            let end: JSON = .object(["line": .int(l - 1), "character": .int(max(c - 1, 0) + name.count)])
            // Relative paths are mypy's, from the daemon workspace's directory.
            let absolute = FileSystem.absolute(path.hasPrefix("./") ? String(path.dropFirst(2)) : path, relativeTo: directory)
            return .object(["uri": .string(FileURI.uri(absolute)), "range": .object(["start": start, "end": end])])
        }
    }

    // MARK: progress

    private func beginProgress() {
        guard progressToken == nil, folders.contains(where: \.checking) else { return }
        let token = "dmypy-check-\(nextToken)"
        nextToken += 1
        progressToken = token
        send(["jsonrpc": "2.0", "id": .string("dmypy-\(nextRequestID)"), "method": "window/workDoneProgress/create",
              "params": .object(["token": .string(token)])])
        nextRequestID += 1
        send(notification: "$/progress", ["token": .string(token),
                                          "value": .object(["kind": "begin", "title": "mypy", "message": .string(progressMessage)])])
    }

    private func endProgress() {
        progressTimer?.cancel()
        guard let token = progressToken, !folders.contains(where: \.checking) else { return }
        progressToken = nil
        send(notification: "$/progress", ["token": .string(token), "value": .object(["kind": "end"])])
    }

    // MARK: output

    private func reply(_ id: JSON, result: JSON) {
        send(["jsonrpc": "2.0", "id": id, "result": result])
    }

    private func reply(_ id: JSON, error code: Int, _ message: String) {
        send(["jsonrpc": "2.0", "id": id, "error": .object(["code": .int(code), "message": .string(message)])])
    }

    private func send(notification method: String, _ params: JSONObject) {
        send(["jsonrpc": "2.0", "method": .string(method), "params": .object(params)])
    }

    private func send(_ message: JSONObject) {
        // Blocking writes: the editor reads its pipe; a message is never left half written.
        do { try output.writeAll(MessageFramer.encode(message)) } catch { stop(status: 1) }
    }

    /// stderr (the editor's log of the server) and `window/logMessage` (1 error … 4 log).
    func log(_ text: String, type: Int = 4) {
        try? FileDescriptor.standardError.writeAll(Array("dmypy lsp: \(text)\n".utf8))
        if phase != .uninitialized {
            send(notification: "window/logMessage", ["type": .int(type), "message": .string(text)])
        }
    }

    private func stop(status: Int32) {
        exitStatus = status
        if let input {
            loop.deregister(input)
            self.input = nil
        }
        loop.stop()
    }
}
