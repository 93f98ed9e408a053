// Python `str` semantics on Swift strings.
//
// Python compares, measures and indexes strings by code point; Swift's `String`
// compares by canonical equivalence and counts grapheme clusters. argparse's
// decisions (is this `--`? does this start with `-`? how long is this line?) must
// be made the Python way, so everything here works on `unicodeScalars`.

extension String {
    /// The code points, as Python's `str` sees them.
    var scalars: [Unicode.Scalar] { Array(unicodeScalars) }

    /// `len(s)` in Python: the number of code points.
    var pyLength: Int { unicodeScalars.count }

    /// Python `==`: code point by code point (no canonical equivalence).
    func pyEquals(_ other: String) -> Bool {
        unicodeScalars.elementsEqual(other.unicodeScalars)
    }

    /// Python `s.startswith(prefix)`.
    func pyHasPrefix(_ prefix: String) -> Bool {
        unicodeScalars.starts(with: prefix.unicodeScalars)
    }

    /// Python `ch in s` for a single code point.
    func pyContains(_ scalar: Unicode.Scalar) -> Bool {
        unicodeScalars.contains(scalar)
    }

    /// Python `s.split(sep, 1)` for a one-code-point separator that occurs in `s`;
    /// nil when it does not occur.
    func pySplitOnce(at separator: Unicode.Scalar) -> (head: String, tail: String)? {
        let all = scalars
        guard let index = all.firstIndex(of: separator) else { return nil }
        return (String(scalars: all[..<index]), String(scalars: all[(index + 1)...]))
    }

    /// Builds a string from code points.
    init<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        self = String(view)
    }
}

extension String {
    /// Python's `str.strip()`.
    func trimmingPythonWhitespace() -> String {
        let s = scalars
        var start = 0
        var end = s.count
        while start < end && PythonChars.isUnicodeSpace(s[start]) { start += 1 }
        while end > start && PythonChars.isUnicodeSpace(s[end - 1]) { end -= 1 }
        return String(scalars: s[start..<end])
    }
}

/// `n` spaces, or none when `n` is not positive (Python's `' ' * n`).
func spaces(_ count: Int) -> String {
    count > 0 ? String(repeating: " ", count: count) : ""
}

// MARK: - Character classes as CPython defines them

enum PythonChars {
    /// Python 3.11's Unicode database is version 14.0.0 (`unicodedata.unidata_version`).
    /// Swift's is newer; a code point assigned later is unassigned (Cn) to Python.
    static func knownToPython(_ c: Unicode.Scalar) -> Bool {
        guard let age = c.properties.age else { return false }
        return age.major < 14 || (age.major == 14 && age.minor == 0)
    }

    /// `Py_UNICODE_ISSPACE`: what `str.isspace()` and `str.strip()` treat as whitespace.
    static func isUnicodeSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `Py_ISSPACE`: the ASCII whitespace of C-level parsers (and of `re.ASCII`'s `\s`).
    static func isASCIISpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x20: return true
        default: return false
        }
    }

    /// `Py_UNICODE_TODECIMAL`: the value of a decimal digit (category Nd), else nil.
    /// This is also what `\d` matches in a `str` regular expression.
    static func decimalValue(_ c: Unicode.Scalar) -> Int? {
        if c.value >= 0x30 && c.value <= 0x39 { return Int(c.value - 0x30) }
        guard c.value >= 0x80, knownToPython(c), c.properties.numericType == .decimal,
              let value = c.properties.numericValue else { return nil }
        return Int(value)
    }

    /// `\w` in a `str` regular expression: alphanumeric or underscore.
    static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        if c == "_" { return true }
        if c.isASCII {
            return (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
        }
        guard knownToPython(c) else { return false }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return c.properties.numericType != nil
        }
    }

    /// `Py_UNICODE_ISPRINTABLE`: everything but categories Cc, Cf, Cs, Co, Cn, Zl,
    /// Zp and Zs, with the ASCII space as the one printable separator.
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        guard knownToPython(c) else { return false }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }
}

// MARK: - repr()

/// Python's `repr(s)` of a `str`, as argparse uses it in messages
/// (`invalid int value: '5x'`, `ignored explicit argument 'x'`).
func pythonRepr(_ text: String) -> String {
    let hasSingle = text.pyContains("'")
    let hasDouble = text.pyContains("\"")
    let quote: Unicode.Scalar = hasSingle && !hasDouble ? "\"" : "'"
    var out = String.UnicodeScalarView()
    out.append(quote)
    for c in text.unicodeScalars {
        switch c {
        case quote, "\\":
            out.append("\\")
            out.append(c)
        case "\t": out.append(contentsOf: "\\t".unicodeScalars)
        case "\n": out.append(contentsOf: "\\n".unicodeScalars)
        case "\r": out.append(contentsOf: "\\r".unicodeScalars)
        default:
            if c.value < 0x20 || c.value == 0x7F {
                out.append(contentsOf: hexEscape("x", c.value, digits: 2).unicodeScalars)
            } else if c.value < 0x7F || PythonChars.isPrintable(c) {
                out.append(c)
            } else if c.value <= 0xFF {
                out.append(contentsOf: hexEscape("x", c.value, digits: 2).unicodeScalars)
            } else if c.value <= 0xFFFF {
                out.append(contentsOf: hexEscape("u", c.value, digits: 4).unicodeScalars)
            } else {
                out.append(contentsOf: hexEscape("U", c.value, digits: 8).unicodeScalars)
            }
        }
    }
    out.append(quote)
    return String(out)
}

private func hexEscape(_ letter: String, _ value: UInt32, digits: Int) -> String {
    let hex = String(value, radix: 16)
    return "\\" + letter + String(repeating: "0", count: max(0, digits - hex.count)) + hex
}
