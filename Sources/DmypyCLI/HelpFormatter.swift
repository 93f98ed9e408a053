// argparse's HelpFormatter (and mypy's AugmentedHelpFormatter variant): the
// usage line(s) and the full help, for a given terminal width.
//
// argparse sizes its output with `shutil.get_terminal_size().columns - 2`; this
// formatter takes the `columns` figure and subtracts the 2 itself.

struct HelpFormatter {
    let parser: ParserSpec
    /// argparse's `self._width`.
    let width: Int
    /// argparse's `self._max_help_position`.
    let maxHelpPosition: Int

    private let indentIncrement = 2

    init(parser: ParserSpec, columns: Int) {
        self.parser = parser
        width = columns - 2
        maxHelpPosition = min(parser.style.maxHelpPosition, max(width - 20, indentIncrement * 2))
    }

    /// `parser.format_usage()`: `usage: ...` and a newline.
    func formatUsage() -> String {
        finish([usageBlock()])
    }

    /// `parser.format_help()`.
    func formatHelp() -> String {
        var parts = [usageBlock()]
        if let description = parser.description { parts.append(formatText(description)) }

        let visible = parser.arguments.filter { $0.help != .suppressed }
        let groups = [
            ("positional arguments", visible.filter(\.isPositional)),
            ("options", visible.filter { !$0.isPositional }),
        ]
        // Every invocation counts towards the help column, whatever its section.
        var maxActionLength = 0
        for argument in visible {
            let lengths = ([argument] + subactions(of: argument)).map { invocation($0).pyLength }
            maxActionLength = max(maxActionLength, (lengths.max() ?? 0) + indentIncrement)
        }
        for (heading, arguments) in groups {
            let items = arguments.map { formatAction($0, indent: indentIncrement, maxActionLength) }.joined()
            if !items.isEmpty { parts.append("\n" + heading + ":\n" + items + "\n") }
        }
        return finish(parts)
    }

    /// `HelpFormatter.format_help`'s final clean-up of the joined sections.
    private func finish(_ parts: [String]) -> String {
        var text = collapseBlankLines(parts.joined())
        while text.hasPrefix("\n") { text.removeFirst() }
        while text.hasSuffix("\n") { text.removeLast() }
        return text.isEmpty ? "" : text + "\n"
    }

    /// `re.sub('\n\n\n+', '\n\n', text)`.
    private func collapseBlankLines(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var newlines = 0
        for c in text.unicodeScalars {
            if c == "\n" {
                newlines += 1
                if newlines <= 2 { out.append(c) }
            } else {
                newlines = 0
                out.append(c)
            }
        }
        return String(out)
    }

    // MARK: - Description

    /// `_format_text` at the top level (indent 0).
    private func formatText(_ text: String) -> String {
        let textWidth = max(width, 11)
        if parser.style.rawDescription {
            return text + "\n\n"  // RawDescriptionHelpFormatter keeps the lines as written
        }
        return textWrap(collapseWhitespace(text), width: textWidth).joined(separator: "\n") + "\n\n"
    }

    // MARK: - Arguments

    /// The pseudo-actions listing the subcommands (only those added with `help=`).
    private func subactions(of argument: ArgumentSpec) -> [ArgumentSpec] {
        guard argument.kind == .subparsers else { return [] }
        return parser.subcommands.compactMap { sub in
            sub.help.map {
                ArgumentSpec(optionStrings: [], dest: sub.name, kind: .store, nargs: .single,
                             metavar: sub.name, help: .text($0))
            }
        }
    }

    /// `_format_action`.
    private func formatAction(_ argument: ArgumentSpec, indent: Int, _ maxActionLength: Int) -> String {
        let helpPosition = min(maxActionLength + 2, maxHelpPosition)
        let helpWidth = max(width - helpPosition, 11)
        let actionWidth = helpPosition - indent - 2
        let header = invocation(argument)
        let helpText: String? = if case .text(let text) = argument.help, !text.isEmpty { text } else { nil }

        var result: String
        var indentFirst = 0
        if helpText == nil {
            result = spaces(indent) + header + "\n"
        } else if header.pyLength <= actionWidth {
            result = spaces(indent) + header + spaces(actionWidth - header.pyLength) + "  "
        } else {
            result = spaces(indent) + header + "\n"
            indentFirst = helpPosition
        }

        let collapsed = helpText.map(collapseWhitespace) ?? ""
        if !collapsed.isEmpty {
            let lines = textWrap(collapsed, width: helpWidth)
            for (n, line) in lines.enumerated() {
                result += spaces(n == 0 ? indentFirst : helpPosition) + line + "\n"
            }
        } else if !result.hasSuffix("\n") {
            result += "\n"
        }
        for sub in subactions(of: argument) {
            result += formatAction(sub, indent: indent + indentIncrement, maxActionLength)
        }
        return result
    }

    /// `_format_action_invocation`: `-v, --verbose`, `--timeout TIMEOUT`, `FILE`.
    private func invocation(_ argument: ArgumentSpec) -> String {
        if argument.isPositional { return metavar(argument, default: argument.dest ?? "") }
        if argument.nargs == .zero { return argument.optionStrings.joined(separator: ", ") }
        let args = formatArgs(argument, default: (argument.dest ?? "").uppercased())
        return argument.optionStrings.map { $0 + " " + args }.joined(separator: ", ")
    }

    /// `_metavar_formatter`: the metavar, else `{choice,...}`, else the default.
    private func metavar(_ argument: ArgumentSpec, default fallback: String) -> String {
        if let metavar = argument.metavar { return metavar }
        if let choices = argument.choices { return "{" + choices.joined(separator: ",") + "}" }
        return fallback
    }

    /// `_format_args`.
    private func formatArgs(_ argument: ArgumentSpec, default fallback: String) -> String {
        let name = metavar(argument, default: fallback)
        switch argument.nargs {
        case .zero: return ""
        case .single: return name
        case .zeroOrMore: return "[\(name) ...]"
        case .oneOrMore: return "\(name) [\(name) ...]"
        case .parser: return "\(name) ..."
        }
    }

    // MARK: - Usage

    /// `_format_usage` with no custom usage: `usage: prog [options] positionals`,
    /// wrapped to the width, plus the blank line that ends the block.
    private func usageBlock() -> String {
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
                    if k == s.count || isSpace(s[k]) || (k == s.count - 1 && s[k] == "\n") { return k }
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

/// argparse's `_whitespace_matcher.sub(' ', text).strip()`: runs of ASCII
/// whitespace become one space, then the ends are stripped.
func collapseWhitespace(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    var inSpace = false
    for c in text.unicodeScalars {
        if PythonChars.isASCIISpace(c) {
            if !inSpace { out.append(" ") }
            inSpace = true
        } else {
            out.append(c)
            inSpace = false
        }
    }
    return String(out).trimmingPythonWhitespace()
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
