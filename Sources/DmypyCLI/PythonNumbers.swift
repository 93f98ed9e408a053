// Python's `int(text)` and `float(text)`: the `type=` converters of dmypy's options.
//
// Both first apply CPython's `_PyUnicode_TransformDecimalAndSpaceToASCII`: any
// Unicode whitespace becomes a space, any Unicode decimal digit becomes its ASCII
// digit, any other non-ASCII code point (or DEL) makes the text invalid.

/// The result of a successful `int(text)`: the value, saturated to `Int`'s range
/// (Python's ints are unbounded), and whether it had to be saturated.
struct PythonInt: Equatable {
    var value: Int
    var saturated: Bool
}

enum PythonNumbers {
    /// CPython's limit on decimal digits in `int(str)` (`sys.get_int_max_str_digits()`).
    static let maxIntDigits = 4300

    /// `int(text)` in base 10, or nil where Python raises `ValueError`.
    static func parseInt(_ text: String) -> PythonInt? {
        guard let ascii = transformToASCII(text) else { return nil }
        var i = 0
        let n = ascii.count
        while i < n, isCSpace(ascii[i]) { i += 1 }
        var negative = false
        if i < n, ascii[i] == UInt8(ascii: "+") {
            i += 1
        } else if i < n, ascii[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var magnitude = 0
        var saturated = false
        var digits = 0
        var previousWasDigit = false
        while i < n {
            let b = ascii[i]
            if b == UInt8(ascii: "_") {
                // One underscore at a time, only between digits.
                guard previousWasDigit, i + 1 < n, isDigit(ascii[i + 1]) else { return nil }
                previousWasDigit = false
            } else if isDigit(b) {
                digits += 1
                let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (m2, o2) = m1.addingReportingOverflow(Int(b - UInt8(ascii: "0")))
                if o1 || o2 { saturated = true } else { magnitude = m2 }
                previousWasDigit = true
            } else {
                break
            }
            i += 1
        }
        guard digits > 0, digits <= maxIntDigits else { return nil }
        while i < n, isCSpace(ascii[i]) { i += 1 }
        guard i == n else { return nil }
        if saturated {
            return PythonInt(value: negative ? Int.min : Int.max, saturated: true)
        }
        return PythonInt(value: negative ? -magnitude : magnitude, saturated: false)
    }

    /// `float(text)`, or nil where Python raises `ValueError`.
    static func parseFloat(_ text: String) -> Double? {
        guard var ascii = transformToASCII(text) else { return nil }
        if ascii.contains(UInt8(ascii: "_")) {
            guard let stripped = removeUnderscores(ascii) else { return nil }
            ascii = stripped
        }
        // Strip ASCII whitespace, keeping at least one character at the end.
        var start = 0
        var end = ascii.count
        while start < end, isCSpace(ascii[start]) { start += 1 }
        while start < end - 1, isCSpace(ascii[end - 1]) { end -= 1 }
        let body = Array(ascii[start..<end])
        return parseFloatBody(body)
    }

    // MARK: - Pieces

    private static func transformToASCII(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            if c.value < 127 {
                if c.value == 0 { return nil }  // C parsers stop at NUL: never valid
                out.append(UInt8(c.value))
            } else if PythonChars.isUnicodeSpace(c) {
                out.append(UInt8(ascii: " "))
            } else if let digit = PythonChars.decimalValue(c) {
                out.append(UInt8(ascii: "0") + UInt8(digit))
            } else {
                return nil
            }
        }
        return out
    }

    /// `_Py_string_to_number_with_underscores`: each `_` must sit between two digits.
    private static func removeUnderscores(_ text: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var previous: UInt8 = 0
        for b in text {
            if b == UInt8(ascii: "_") {
                guard isDigit(previous) else { return nil }
            } else {
                if previous == UInt8(ascii: "_") && !isDigit(b) { return nil }
                out.append(b)
            }
            previous = b
        }
        return previous == UInt8(ascii: "_") ? nil : out
    }

    /// `PyOS_string_to_double` that must consume the whole body: an optional sign,
    /// then `inf`/`infinity`/`nan` (any case) or a decimal literal with optional
    /// fraction and exponent.
    private static func parseFloatBody(_ body: [UInt8]) -> Double? {
        var i = 0
        var negative = false
        if i < body.count, body[i] == UInt8(ascii: "+") || body[i] == UInt8(ascii: "-") {
            negative = body[i] == UInt8(ascii: "-")
            i += 1
        }
        let rest = String(decoding: body[i...], as: UTF8.self).lowercased()
        if rest == "inf" || rest == "infinity" { return negative ? -.infinity : .infinity }
        if rest == "nan" { return negative ? -Double.nan : Double.nan }

        let intStart = i
        while i < body.count, isDigit(body[i]) { i += 1 }
        let integerDigits = String(decoding: body[intStart..<i], as: UTF8.self)
        var fractionDigits = ""
        if i < body.count, body[i] == UInt8(ascii: ".") {
            i += 1
            let fracStart = i
            while i < body.count, isDigit(body[i]) { i += 1 }
            fractionDigits = String(decoding: body[fracStart..<i], as: UTF8.self)
        }
        guard !integerDigits.isEmpty || !fractionDigits.isEmpty else { return nil }
        var literal = (negative ? "-" : "") + (integerDigits.isEmpty ? "0" : integerDigits)
        if !fractionDigits.isEmpty { literal += "." + fractionDigits }
        if i < body.count, body[i] == UInt8(ascii: "e") || body[i] == UInt8(ascii: "E") {
            var j = i + 1
            var exponent = "e"
            if j < body.count, body[j] == UInt8(ascii: "+") || body[j] == UInt8(ascii: "-") {
                exponent += body[j] == UInt8(ascii: "-") ? "-" : "+"
                j += 1
            }
            let expStart = j
            while j < body.count, isDigit(body[j]) { j += 1 }
            if j > expStart {
                // A literal part that does not parse as an exponent is left unconsumed.
                literal += exponent + String(decoding: body[expStart..<j], as: UTF8.self)
                i = j
            }
        }
        guard i == body.count else { return nil }
        // Swift's parser is correctly rounded (strtod) and saturates to ±inf / 0
        // like Python's dtoa for out-of-range exponents.
        return Double(literal)
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isCSpace(_ b: UInt8) -> Bool { (b >= 0x09 && b <= 0x0D) || b == 0x20 }
}
