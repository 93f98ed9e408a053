// Deciding whether a command-line string is an option, and which one
// (argparse's `_parse_optional` and `_get_option_tuples`, with allow_abbrev=True
// and prefix_chars='-').

/// What `_parse_optional` found for an option-like string.
struct OptionMatch: Sendable {
    /// Index into the parser's `arguments`; nil for an unknown option (it becomes
    /// an "unrecognized argument").
    var argument: Int?
    /// The option string as the parser spells it (e.g. `--verbose` for `--verb`).
    var optionString: String
    /// The text after `=` (long options) or after the flag letter (`-vv`).
    var explicitArgument: String?
}

/// Raised while classifying strings: argparse calls `parser.error` directly.
struct AmbiguousOption: Error {
    var message: String
}

extension ParserSpec {
    /// The pattern string `_parse_known_args` builds: a letter per string (after
    /// the first `--`, everything is an argument), and what each option is.
    func patternLetters(for strings: [String]) throws(AmbiguousOption)
        -> (letters: [PatternLetter], options: [Int: OptionMatch]) {
        var letters: [PatternLetter] = []
        var options: [Int: OptionMatch] = [:]
        var afterSeparator = false
        for (index, string) in strings.enumerated() {
            if afterSeparator {
                letters.append(.argument)
            } else if string.pyEquals("--") {
                letters.append(.separator)
                afterSeparator = true
            } else if let match = try classify(string) {
                options[index] = match
                letters.append(.option)
            } else {
                letters.append(.argument)
            }
        }
        return (letters, options)
    }

    /// `_parse_optional`: nil when `text` is a positional argument.
    func classify(_ text: String) throws(AmbiguousOption) -> OptionMatch? {
        let chars = text.scalars
        guard let first = chars.first, first == "-" else { return nil }
        let table = optionStringTable
        if let hit = table.first(where: { $0.option.pyEquals(text) }) {
            return OptionMatch(argument: hit.index, optionString: hit.option, explicitArgument: nil)
        }
        if chars.count == 1 { return nil }
        if let (option, explicit) = text.pySplitOnce(at: "="),
           let hit = table.first(where: { $0.option.pyEquals(option) }) {
            return OptionMatch(argument: hit.index, optionString: hit.option, explicitArgument: explicit)
        }

        let candidates = optionCandidates(text, table: table)
        if candidates.count > 1 {
            let names = candidates.map(\.optionString).joined(separator: ", ")
            throw AmbiguousOption(message: "ambiguous option: \(text) could match \(names)")
        }
        if let only = candidates.first { return only }

        if looksLikeNegativeNumber(text) && !hasNegativeNumberOptionals { return nil }
        if text.pyContains(" ") { return nil }
        return OptionMatch(argument: nil, optionString: text, explicitArgument: nil)
    }

    /// `_get_option_tuples`: the options `text` could abbreviate. `text` has at
    /// least two code points and starts with `-`.
    private func optionCandidates(_ text: String, table: [(option: String, index: Int)]) -> [OptionMatch] {
        let chars = text.scalars
        if chars[1] == "-" {
            // Long option: a prefix of the name, possibly followed by =value.
            let (prefix, explicit): (String, String?) = text.pySplitOnce(at: "=").map { ($0.head, $0.tail) }
                ?? (text, nil)
            return table.filter { $0.option.pyHasPrefix(prefix) }.map {
                OptionMatch(argument: $0.index, optionString: $0.option, explicitArgument: explicit)
            }
        }
        // Short option: either exactly a two-character option followed by its
        // argument (`-vv`, `-xVALUE`), or a prefix of a longer single-dash option.
        let shortPrefix = String(scalars: chars[..<2])
        let shortExplicit = String(scalars: chars[2...])
        var result: [OptionMatch] = []
        for entry in table {
            if entry.option.pyEquals(shortPrefix) {
                result.append(OptionMatch(argument: entry.index, optionString: entry.option,
                                          explicitArgument: shortExplicit))
            } else if entry.option.pyHasPrefix(text) {
                result.append(OptionMatch(argument: entry.index, optionString: entry.option,
                                          explicitArgument: nil))
            }
        }
        return result
    }
}

/// argparse's `_negative_number_matcher`: `^-\d+$|^-\d*\.\d+$` with `re.match`,
/// where `\d` is any Unicode decimal digit and `$` also matches before a final
/// newline.
func looksLikeNegativeNumber(_ text: String) -> Bool {
    var chars = text.scalars
    if chars.last == "\n" { chars.removeLast() }
    guard chars.first == "-" else { return false }
    let body = chars.dropFirst()
    let isDigit = { (c: Unicode.Scalar) in PythonChars.decimalValue(c) != nil }
    if !body.isEmpty && body.allSatisfy(isDigit) { return true }
    guard let dot = body.firstIndex(of: ".") else { return false }
    let before = body[body.startIndex..<dot]
    let after = body[(dot + 1)...]
    return before.allSatisfy(isDigit) && !after.isEmpty && after.allSatisfy(isDigit)
}
