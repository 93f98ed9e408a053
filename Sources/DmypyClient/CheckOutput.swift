import DmypySystem
import DmypyWire
import Glibc

/// mypy's `check_output` and `show_stats`: printing a check's answer and exiting with its status.
enum CheckOutput {
    static func handle(_ response: JSONObject, verbose: Bool, junitXML: String?, perfStatsFile: String?) throws(ClientExit) {
        var response = response
        if let note = response.removeValue(forKey: "dmypy_swift_note")?.stringValue, FileDescriptor.standardError.isTerminal {
            Console.err(note + "\n")   // ours, not mypy's: on a terminal only (editors read a pipe)
        }
        if let error = response["error"] { throw Console.fail(PythonRepr.str(error)) }
        guard let out = response["out"], let err = response["err"], let status = response["status"] else {
            throw Console.fail("Response: \(PythonRepr.repr(.object(response)))")
        }
        let outText = PythonRepr.str(out)
        let errText = PythonRepr.str(err)
        Console.out(outText)
        Console.err(errText)
        if verbose { showStats(response) }
        if let junitXML {
            let messages = (outText + errText).split(separator: "\n", omittingEmptySubsequences: false)
                .map(String.init).dropLastIfEmpty()
            let xml = JUnitXML.contents(
                seconds: response["roundtrip_time"].flatMap(doubleValue) ?? 0,
                serious: !errText.isEmpty,
                messages: messages,
                version: response["python_version"].map(PythonRepr.str) ?? "",
                platform: response["platform"].map(PythonRepr.str) ?? ""
            )
            JUnitXML.write(xml, to: junitXML)
        }
        if let perfStatsFile {
            let stats = response["stats"] ?? .object([:])
            do {
                try FileSystem.writeAtomically(perfStatsFile, Array(PythonJSON.dumps(stats).utf8))
            } catch {
                throw Console.fail("[Errno \(error.errno)] \(error.reason): '\(perfStatsFile)'")
            }
        }
        let code: Int32
        switch status {
        case .int(let i): code = Int32(truncatingIfNeeded: i)
        case .null: code = 0
        default: code = status.isTruthy ? 1 : 0
        }
        if code != 0 { throw ClientExit(code) }
    }

    static func doubleValue(_ value: JSON) -> Double? {
        switch value {
        case .double(let d): return d
        case .int(let i): return Double(i)
        default: return nil
        }
    }

    /// `show_stats`: every key sorted, `%-24s: %10s`, text fields shortened to 40 characters.
    static func showStats(_ response: JSONObject) {
        for key in response.keys.sorted(by: pythonStringLess) {
            guard let value = response[key] else { continue }
            if ["out", "err", "stdout", "stderr"].contains(key) {
                var text = PythonRepr.repr(value)
                text = String(text.dropFirst().dropLast())
                if text.count > 50 {
                    text = "\(text.prefix(40)) ... \(text.count - 40) more characters"
                }
                Console.print(pad(key, 24) + ": " + text)
                continue
            }
            let shown: String
            if case .double(let d) = value { shown = formatFixed(d, 3) } else { shown = PythonRepr.str(value) }
            Console.print(pad(key, 24) + ": " + leftPad(shown, 10))
        }
    }

    /// Python sorts strings by code point.
    static func pythonStringLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    /// `"%.Nf" % value`.
    static func formatFixed(_ value: Double, _ digits: Int) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        var buffer = [CChar](repeating: 0, count: 512)
        _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, "%.\(digits)f", $0) }
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension Array where Element == String {
    /// `str.splitlines()` drops the empty piece after a final newline.
    func dropLastIfEmpty() -> [String] {
        if last == "" { return Array(dropLast()) }
        return self
    }
}

/// Python's `json.dump` with its default settings (ASCII only, ", " and ": " separators).
enum PythonJSON {
    static func dumps(_ value: JSON) -> String {
        let text = value.serialized()
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x80 {
                out.unicodeScalars.append(scalar)
            } else if scalar.value <= 0xFFFF {
                out += "\\u" + hexDigits(scalar.value, width: 4)
            } else {
                let v = scalar.value - 0x10000
                out += "\\u" + hexDigits(0xD800 + (v >> 10), width: 4) + "\\u" + hexDigits(0xDC00 + (v & 0x3FF), width: 4)
            }
        }
        return out
    }
}

/// mypy's `write_junit_xml` for the daemon's client, which puts all messages under one test.
enum JUnitXML {
    static func contents(seconds: Double, serious: Bool, messages: [String], version: String, platform: String) -> String {
        let time = CheckOutput.formatFixed(seconds, 3)
        let groups = messages.isEmpty ? 0 : 1
        var xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        xml += "<testsuite errors=\"\(serious ? groups : 0)\" failures=\"\(serious ? 0 : groups)\" name=\"mypy\" skips=\"0\" tests=\"\(max(groups, 1))\" time=\"\(time)\">\n"
        if messages.isEmpty {
            xml += "  <testcase classname=\"mypy\" file=\"mypy\" line=\"1\" name=\"mypy-py\(version)-\(platform)\" time=\"\(time)\">\n  </testcase>\n"
        } else {
            xml += "  <testcase classname=\"mypy\" file=\"mypy\" line=\"1\" name=\"mypy-py\(version)-\(platform)\" time=\"\(time)\">\n"
            xml += "    <failure message=\"mypy produced messages\">\(escape(messages.joined(separator: "\n")))</failure>\n  </testcase>\n"
        }
        xml += "</testsuite>\n"
        return xml
    }

    /// `xml.sax.saxutils.escape`.
    static func escape(_ s: String) -> String {
        s.replacingAll("&", "&amp;").replacingAll(">", "&gt;").replacingAll("<", "&lt;")
    }

    static func write(_ xml: String, to path: String) {
        let absolute = FileSystem.absolute(path, relativeTo: FileSystem.currentDirectory())
        var directory = absolute
        while directory.last != "/" && !directory.isEmpty { directory.removeLast() }
        makeDirectories(String(directory.dropLast()))
        try? FileSystem.writeAtomically(path, Array(xml.utf8))
    }

    static func makeDirectories(_ path: String) {
        guard !path.isEmpty, !FileSystem.isDirectory(path) else { return }
        var parent = path
        while parent.last != "/" && !parent.isEmpty { parent.removeLast() }
        makeDirectories(String(parent.dropLast()))
        mkdir(path, 0o777)
    }
}

extension String {
    func replacingAll(_ target: String, _ replacement: String) -> String {
        replacing(target, with: replacement)
    }
}
