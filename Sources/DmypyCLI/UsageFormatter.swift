// argparse's usage line: `usage: prog [options] positionals`, wrapped to the
// width the way `HelpFormatter._format_usage` wraps it.

extension HelpFormatter {
    /// `_format_usage` with no custom usage: `usage: prog [options] positionals`,
    /// wrapped to the width, plus the blank line that ends the block.
    func usageBlock() -> String {
        let prefix = "usage: "
        let prog = parser.prog
        let optionals = parser.arguments.filter { !$0.isPositional }
        let positionals = parser.arguments.filter(\.isPositional)
        let actionUsage = actionsUsage(optionals + positionals)
        var usage = [prog, actionUsage].filter { !$0.isEmpty }.joined(separator: " ")

        let textWidth = width
        if prefix.pyLength + usage.pyLength > textWidth {
            let optParts = usageParts(actionsUsage(optionals))
            let posParts = usageParts(actionsUsage(positionals))

            func lines(_ parts: [String], indent: String, prefix: String? = nil) -> [String] {
                var result: [String] = []
                var line: [String] = []
                var lineLength = (prefix ?? indent).pyLength - 1
                for part in parts {
                    if lineLength + 1 + part.pyLength > textWidth && !line.isEmpty {
                        result.append(indent + line.joined(separator: " "))
                        line = []
                        lineLength = indent.pyLength - 1
                    }
                    line.append(part)
                    lineLength += part.pyLength + 1
                }
                if !line.isEmpty { result.append(indent + line.joined(separator: " ")) }
                if prefix != nil, let first = result.first {
                    result[0] = String(scalars: first.scalars.dropFirst(indent.pyLength))
                }
                return result
            }

            var wrapped: [String]
            if Double(prefix.pyLength + prog.pyLength) <= 0.75 * Double(textWidth) {
                // Short prog: options and positionals follow it, aligned after it.
                let indent = spaces(prefix.pyLength + prog.pyLength + 1)
                if !optParts.isEmpty {
                    wrapped = lines([prog] + optParts, indent: indent, prefix: prefix)
                    wrapped += lines(posParts, indent: indent)
                } else if !posParts.isEmpty {
                    wrapped = lines([prog] + posParts, indent: indent, prefix: prefix)
                } else {
                    wrapped = [prog]
                }
            } else {
                // Long prog: it gets a line of its own.
                let indent = spaces(prefix.pyLength)
                wrapped = lines(optParts + posParts, indent: indent)
                if wrapped.count > 1 {
                    wrapped = lines(optParts, indent: indent) + lines(posParts, indent: indent)
                }
                wrapped = [prog] + wrapped
            }
            usage = wrapped.joined(separator: "\n")
        }
        return prefix + usage + "\n\n"
    }

    /// `_format_actions_usage` (dmypy has no mutually exclusive groups).
    private func actionsUsage(_ arguments: [ArgumentSpec]) -> String {
        var parts: [String] = []
        for argument in arguments where argument.help != .suppressed {
            if argument.isPositional {
                parts.append(formatArgs(argument, default: argument.dest ?? ""))
            } else {
                let option = argument.optionStrings.first ?? ""
                var part = argument.nargs == .zero
                    ? option
                    : option + " " + formatArgs(argument, default: (argument.dest ?? "").uppercased())
                if !argument.required { part = "[" + part + "]" }
                parts.append(part)
            }
        }
        return cleanUpBrackets(parts.joined(separator: " "))
            .trimmingPythonWhitespace()
    }

    /// The three `re.sub` clean-ups of `_format_actions_usage`: no space after an
    /// opening or before a closing bracket, and no empty bracket pairs.
    private func cleanUpBrackets(_ text: String) -> String {
        func isOpen(_ c: Unicode.Scalar) -> Bool { c == "[" || c == "(" }
        func isClose(_ c: Unicode.Scalar) -> Bool { c == "]" || c == ")" }

        var s = text.scalars
        var out: [Unicode.Scalar] = []
        var i = 0
        while i < s.count {  // ([\[(]) -> \1
            out.append(s[i])
            i += (isOpen(s[i]) && i + 1 < s.count && s[i + 1] == " ") ? 2 : 1
        }
        s = out
        out = []
        i = 0
        while i < s.count {  // ' ([\])])' -> \1
            if s[i] == " ", i + 1 < s.count, isClose(s[i + 1]) {
                out.append(s[i + 1])
                i += 2
            } else {
                out.append(s[i])
                i += 1
            }
        }
        s = out
        out = []
        i = 0
        while i < s.count {  // '[\[(] *[\])]' -> ''
            if isOpen(s[i]) {
                var j = i + 1
                while j < s.count && s[j] == " " { j += 1 }
                if j < s.count && isClose(s[j]) {
                    i = j + 1
                    continue
                }
            }
            out.append(s[i])
            i += 1
        }
        return String(scalars: out)
    }

    /// `re.findall(r'\(.*?\)+(?=\s|$)|\[.*?\]+(?=\s|$)|\S+', text)`: the pieces
    /// usage wrapping may not split.
    private func usageParts(_ text: String) -> [String] {
        let s = text.scalars
        let isSpace = { (c: Unicode.Scalar) in PythonChars.isUnicodeSpace(c) }
        /// `\(.*?\)+(?=\s|$)` (or with brackets) starting at `start`: its end.
        func bracketed(_ start: Int, open: Unicode.Scalar, close: Unicode.Scalar) -> Int? {
            guard s[start] == open else { return nil }
            var j = start + 1
            while j < s.count {
                if s[j] == "\n" { return nil }  // `.` does not match a newline
                if s[j] == close {
                    var k = j
                    while k < s.count && s[k] == close { k += 1 }
                    if k == s.count || isSpace(s[k]) { return k }
                }
                j += 1
            }
            return nil
        }
        var parts: [String] = []
        var i = 0
        while i < s.count {
            if isSpace(s[i]) {
                i += 1
                continue
            }
            var end = bracketed(i, open: "(", close: ")") ?? bracketed(i, open: "[", close: "]")
            if end == nil {
                var j = i
                while j < s.count && !isSpace(s[j]) { j += 1 }
                end = j
            }
            let stop = end ?? s.count
            parts.append(String(scalars: s[i..<stop]))
            i = stop
        }
        return parts
    }
}
