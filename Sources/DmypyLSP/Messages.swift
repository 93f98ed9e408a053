import DmypyWire

// What the editor sends, decoded once where frames arrive (sourcekit-lsp's shape): each request
// and notification a typed value; the server never reads the JSON again.

/// A position in a document (0-based line and character, as LSP counts them).
struct TextPosition: Equatable {
    var uri: String
    var line: Int
    var character: Int
}

struct WorkspaceFolder: Equatable {
    var uri: String
    var name: String
}

struct InitializeParams: Equatable {
    var folders: [WorkspaceFolder]
    /// `initializationOptions`: `flags` (extra mypy flags) and `targets` (what to check; default
    /// the folder), for every folder.
    var flags: [String]
    var targets: [String]?
    var workDoneProgress: Bool
}

enum Request: Equatable {
    case initialize(InitializeParams)
    case shutdown
    case hover(TextPosition)
    case definition(TextPosition)
    case documentDiagnostic(uri: String)
    case workspaceDiagnostic
    case unknown(method: String)
}

enum Notification: Equatable {
    case initialized
    case exit
    case didOpen(uri: String, version: Int, text: String)
    /// Full-text sync: the last content change's text is the whole buffer.
    case didChange(uri: String, version: Int, text: String?)
    case didSave(uri: String)
    case didClose(uri: String)
    case ignored(method: String)
}

enum IncomingMessage: Equatable {
    case request(id: JSON, Request)
    case notification(Notification)
    /// The editor's answer to a request of ours (`window/workDoneProgress/create`).
    case response(id: JSON)

    enum Failure: Error, Equatable {
        /// Not a JSON-RPC message at all (LSP error -32700 / -32600).
        case invalid(String)
        /// A request whose params are not what its method needs (LSP error -32602).
        case invalidParams(id: JSON, method: String)
    }

    init(_ body: [UInt8]) throws(Failure) {
        guard case .object(let message)? = try? JSONParser.parse(body) else { throw .invalid("not a JSON object") }
        let params = message["params"]?.objectValue ?? [:]
        guard let method = message["method"]?.stringValue else {
            guard let id = message["id"] else { throw .invalid("neither a method nor an id") }
            self = .response(id: id)
            return
        }
        if let id = message["id"], id != .null {
            guard let request = Request(method: method, params: params) else { throw .invalidParams(id: id, method: method) }
            self = .request(id: id, request)
        } else {
            self = .notification(Notification(method: method, params: params) ?? .ignored(method: method))
        }
    }
}

extension Request {
    init?(method: String, params: JSONObject) {
        switch method {
        case "initialize":
            var folders = (params["workspaceFolders"]?.arrayValue ?? []).compactMap { value -> WorkspaceFolder? in
                guard let uri = value["uri"]?.stringValue else { return nil }
                return WorkspaceFolder(uri: uri, name: value["name"]?.stringValue ?? uri)
            }
            if folders.isEmpty, let root = params["rootUri"]?.stringValue {
                folders = [WorkspaceFolder(uri: root, name: root)]
            }
            let options = params["initializationOptions"]?.objectValue ?? [:]
            let progress = params["capabilities"]?["window"]?["workDoneProgress"]?.boolValue ?? false
            self = .initialize(InitializeParams(folders: folders, flags: options["flags"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                                targets: options["targets"]?.arrayValue?.compactMap(\.stringValue),
                                                workDoneProgress: progress))
        case "shutdown":
            self = .shutdown
        case "textDocument/hover", "textDocument/definition":
            guard let uri = params["textDocument"]?["uri"]?.stringValue, let line = params["position"]?["line"]?.intValue,
                  let character = params["position"]?["character"]?.intValue else { return nil }
            let position = TextPosition(uri: uri, line: line, character: character)
            self = method == "textDocument/hover" ? .hover(position) : .definition(position)
        case "textDocument/diagnostic":
            guard let uri = params["textDocument"]?["uri"]?.stringValue else { return nil }
            self = .documentDiagnostic(uri: uri)
        case "workspace/diagnostic":
            self = .workspaceDiagnostic
        default:
            self = .unknown(method: method)
        }
    }
}

extension Notification {
    init?(method: String, params: JSONObject) {
        let document = params["textDocument"]
        switch method {
        case "initialized":
            self = .initialized
        case "exit":
            self = .exit
        case "textDocument/didOpen":
            guard let uri = document?["uri"]?.stringValue, let text = document?["text"]?.stringValue else { return nil }
            self = .didOpen(uri: uri, version: document?["version"]?.intValue ?? 0, text: text)
        case "textDocument/didChange":
            guard let uri = document?["uri"]?.stringValue else { return nil }
            let text = params["contentChanges"]?.arrayValue?.last?["text"]?.stringValue
            self = .didChange(uri: uri, version: document?["version"]?.intValue ?? 0, text: text)
        case "textDocument/didSave":
            guard let uri = document?["uri"]?.stringValue else { return nil }
            self = .didSave(uri: uri)
        case "textDocument/didClose":
            guard let uri = document?["uri"]?.stringValue else { return nil }
            self = .didClose(uri: uri)
        default:
            return nil
        }
    }
}

/// `file://` URIs and paths.
enum FileURI {
    static func path(_ uri: String) -> String? {
        guard uri.hasPrefix("file://") else { return nil }
        var rest = Array(uri.dropFirst(7).utf8)
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = Array(rest[..<hash]) }
        var bytes: [UInt8] = []
        var i = 0
        while i < rest.count {
            if rest[i] == UInt8(ascii: "%"), i + 2 < rest.count,
               let value = UInt8(String(decoding: rest[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                i += 3
            } else {
                bytes.append(rest[i])
                i += 1
            }
        }
        let path = String(decoding: bytes, as: UTF8.self)
        guard path.hasPrefix("/") else { return nil }
        return path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    static func uri(_ path: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/".utf8)
        var out = "file://"
        for byte in path.utf8 {
            if safe.contains(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}
