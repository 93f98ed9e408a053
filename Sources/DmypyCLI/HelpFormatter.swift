// argparse's HelpFormatter (and mypy's AugmentedHelpFormatter variant): the full
// help, for a given terminal width. The usage part is in UsageFormatter.swift.
//
// argparse sizes its output with `shutil.get_terminal_size().columns - 2`; this
// formatter takes the `columns` figure and subtracts the 2 itself.

struct HelpFormatter {
    let parser: ParserSpec
    /// argparse's `self._width`.
    let width: Int
    /// argparse's `self._max_help_position`.
    let maxHelpPosition: Int

    let indentIncrement = 2

    init(parser: ParserSpec, columns: Int) {
        self.parser = parser
        width = max(columns, Int.min / 2) - 2  // (no overflow for absurd figures)
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
    func formatArgs(_ argument: ArgumentSpec, default fallback: String) -> String {
        let name = metavar(argument, default: fallback)
        switch argument.nargs {
        case .zero: return ""
        case .single: return name
        case .zeroOrMore: return "[\(name) ...]"
        case .oneOrMore: return "\(name) [\(name) ...]"
        case .parser: return "\(name) ..."
        }
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
