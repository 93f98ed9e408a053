import Testing
@testable import DmypyWire

@Suite struct JSONTests {
    @Test func parsesWhatPythonWrites() throws {
        let value = try JSONParser.parse(#"{"out": "a.py:1: error: \u00e9 \"x\"\n", "status": 1, "t": 0.25, "ok": true, "n": null, "l": [1, 2.0]}"#)
        #expect(value["out"] == .string("a.py:1: error: é \"x\"\n"))
        #expect(value["status"] == .int(1))
        #expect(value["t"] == .double(0.25))
        #expect(value["ok"] == .bool(true))
        #expect(value["n"] == .null)
        #expect(value["l"] == .array([.int(1), .double(2.0)]))
    }

    @Test func keepsKeyOrderAndRoundTrips() throws {
        let text = #"{"b": 1, "a": [true, false, null], "c": {"x": "y"}}"#
        let value = try JSONParser.parse(text)
        #expect(value.serialized() == text)
        #expect(value.objectValue?.keys == ["b", "a", "c"])
    }

    @Test func surrogatePairsAndControlCharacters() throws {
        let value = try JSONParser.parse(#""\ud83d\ude00\u0001""#)
        #expect(value == .string("😀\u{01}"))
        #expect(value.serialized() == #""😀\u0001""#)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"abc", "01x", "{\"a\":1}}", "\"\u{01}\"", "1.", "-", "[\"\\x\"]"])
    func rejectsMalformedInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func pythonReprMatchesPython() {
        #expect(PythonRepr.repr(.object(["error": "timed out"])) == "{'error': 'timed out'}")
        #expect(PythonRepr.repr(.string("it's")) == "\"it's\"")
        #expect(PythonRepr.repr(.string("a'b\"c")) == "'a\\'b\"c'")
        #expect(PythonRepr.repr(.array([.null, .bool(true), .double(1.0), .double(1e-05), .double(1e16), .double(123.456)]))
                == "[None, True, 1.0, 1e-05, 1e+16, 123.456]")
        #expect(PythonRepr.float(0.1 + 0.2) == "0.30000000000000004")
        #expect(PythonRepr.float(1234567890123456.0) == "1234567890123456.0")
        #expect(PythonRepr.float(0.0001) == "0.0001")
        #expect(PythonRepr.string("tab\there\n") == "'tab\\there\\n'")
    }
}
