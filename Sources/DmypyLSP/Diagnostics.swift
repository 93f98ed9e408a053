import DmypyWire

/// mypy's `--output json` records turned into LSP diagnostics, by file.
///
/// mypy's `line` is 1-based, `column` 0-based, and `end_column` (with `--show-error-end`'s
/// information) 0-based and exclusive: LSP ranges are the same once the lines are made 0-based.
/// A record without an end is one character wide. Notes that mypy attaches to an error (`hint`)
/// become its related information; a note on its own line is a diagnostic of severity 3.
enum MypyDiagnostics {
    static let errorCodeDocs = "https://mypy.readthedocs.io/en/stable/error_code_list.html"

    static func byFile(_ out: String) -> [String: [JSON]] {
        var files: [String: [JSON]] = [:]
        for line in out.split(separator: "\n") where line.hasPrefix("{") {
            guard case .object(let record)? = try? JSONParser.parse(Array(line.utf8)),
                  let file = record["file"]?.stringValue else { continue }
            files[file, default: []].append(.object(diagnostic(record, file: file)))
        }
        return files
    }

    static func diagnostic(_ record: JSONObject, file: String) -> JSONObject {
        let line = max((record["line"]?.intValue ?? 1) - 1, 0)
        let column = max(record["column"]?.intValue ?? 0, 0)
        var endLine = (record["end_line"]?.intValue).map { max($0 - 1, line) } ?? line
        var endColumn = record["end_column"]?.intValue ?? (column + 1)
        if endLine == line && endColumn <= column { endColumn = column + 1 }
        if endLine < line { endLine = line }
        let range: JSON = .object(["start": .object(["line": .int(line), "character": .int(column)]),
                                   "end": .object(["line": .int(endLine), "character": .int(endColumn)])])
        let severity: Int
        switch record["severity"]?.stringValue {
        case "error": severity = 1
        case "warning": severity = 2
        default: severity = 3
        }
        var diagnostic: JSONObject = ["range": range, "severity": .int(severity), "source": "mypy",
                                      "message": .string(record["message"]?.stringValue ?? "")]
        if let code = record["code"]?.stringValue {
            diagnostic["code"] = .string(code)
            diagnostic["codeDescription"] = .object(["href": .string("\(errorCodeDocs)#code-\(code)")])
        }
        if let hint = record["hint"]?.stringValue, !hint.isEmpty {
            diagnostic["relatedInformation"] = .array(hint.split(separator: "\n").map { note in
                .object(["location": .object(["uri": .string(FileURI.uri(file)), "range": range]), "message": .string(String(note))])
            })
        }
        return diagnostic
    }
}
