/// Python's `repr()` of JSON-decoded values, for the places where mypy's client prints a
/// response with `print(dict)` or `"%s" % value` (`dmypy hang`, `status -v`).
public enum PythonRepr {
    public static func repr(_ value: JSON) -> String {
        switch value {
        case .null: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return float(d)
        case .string(let s): return string(s)
        case .array(let a): return "[" + a.map(repr).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.entries.map { string($0.key) + ": " + repr($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// `str(value)`: like repr, except that a string is itself.
    public static func str(_ value: JSON) -> String {
        if case .string(let s) = value { return s }
        return repr(value)
    }

    /// Python's float repr: shortest round-trip digits, exponent form outside 1e-4 ..< 1e16.
    public static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description is also shortest round-trip; only the layout differs.
        let swift = "\(d)"
        var mantissa = swift
        var exponent = 0
        if let e = swift.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(swift[..<e])
            exponent = Int(swift[swift.index(after: e)...]) ?? 0
        }
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa.removeFirst() }
        var intPart = mantissa
        var fracPart = ""
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = String(mantissa[..<dot])
            fracPart = String(mantissa[mantissa.index(after: dot)...])
        }
        var digits = intPart + fracPart
        var pointPosition = intPart.count + exponent
        let leadingZeros = digits.prefix(while: { $0 == "0" }).count
        digits.removeFirst(leadingZeros)
        pointPosition -= leadingZeros
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.isEmpty { return negative ? "-0.0" : "0.0" }
        let decimalExponent = pointPosition - 1
        var result: String
        if decimalExponent < -4 || decimalExponent >= 16 {
            result = String(digits.first!)
            if digits.count > 1 { result += "." + digits.dropFirst() }
            let sign = decimalExponent < 0 ? "-" : "+"
            let magnitude = abs(decimalExponent)
            result += "e" + sign + (magnitude < 10 ? "0" : "") + String(magnitude)
        } else if pointPosition <= 0 {
            result = "0." + String(repeating: "0", count: -pointPosition) + digits
        } else if pointPosition >= digits.count {
            result = digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
        } else {
            let i = digits.index(digits.startIndex, offsetBy: pointPosition)
            result = digits[..<i] + "." + digits[i...]
        }
        return negative ? "-" + result : result
    }

    /// Python's str repr: single quotes unless the text has a single quote and no double quote.
    public static func string(_ s: String) -> String {
        let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hexDigits(scalar.value, width: 2)
                } else if scalar.value >= 0x80 && !isPrintable(scalar) {
                    if scalar.value <= 0xFF {
                        out += "\\x" + hexDigits(scalar.value, width: 2)
                    } else if scalar.value <= 0xFFFF {
                        out += "\\u" + hexDigits(scalar.value, width: 4)
                    } else {
                        out += "\\U" + hexDigits(scalar.value, width: 8)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(quote)
        return out
    }

    /// An approximation of `str.isprintable` for non-ASCII: control, format, separator (other
    /// than the space), surrogate and unassigned code points are not printable.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}
