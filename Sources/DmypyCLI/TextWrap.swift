// Python's `textwrap.wrap(text, width)` with its defaults (break_long_words and
// break_on_hyphens on, drop_whitespace on), which argparse uses for help texts
// and descriptions. Callers pass text whose whitespace is already collapsed to
// single spaces, as argparse does before wrapping.

/// `textwrap.wrap(text, width)`; `width` must be positive (argparse never passes
/// less than 11).
func textWrap(_ text: String, width: Int) -> [String] {
    let translated = text.unicodeScalars.map { c -> Unicode.Scalar in
        switch c { case "\t", "\n", "\u{0B}", "\u{0C}", "\r": return " "; default: return c }
    }
    return wrapChunks(splitChunks(translated), width: max(width, 1))
}

// MARK: - TextWrapper._split (wordsep_re)

private func isWhitespace(_ c: Unicode.Scalar) -> Bool {
    c == " " || c == "\t" || c == "\n" || c == "\u{0B}" || c == "\u{0C}" || c == "\r"
}

/// `[\w!"'&.,?]`
private func isWordPunct(_ c: Unicode.Scalar) -> Bool {
    PythonChars.isWordChar(c) || "!\"'&.,?".unicodeScalars.contains(c)
}

/// `[^\d\W]`: a word character that is not a digit.
private func isLetter(_ c: Unicode.Scalar) -> Bool {
    PythonChars.isWordChar(c) && PythonChars.decimalValue(c) == nil
}

/// Splits text into chunks the way `TextWrapper.wordsep_re.split` does:
/// whitespace runs, em-dashes between words, and words, where a hyphenated word
/// splits after each hyphen that has two letters (or letter-hyphen-letter) before
/// it and a letter (optionally hyphen and letter) after it.
private func splitChunks(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
    let n = s.count
    func at(_ i: Int) -> Unicode.Scalar? { i >= 0 && i < n ? s[i] : nil }
    func test(_ i: Int, _ predicate: (Unicode.Scalar) -> Bool) -> Bool { at(i).map(predicate) ?? false }
    /// `-{2,}\w` at position i (greedy hyphen run, then a word character).
    func emDashAhead(_ i: Int) -> Bool {
        var j = i
        while at(j) == "-" { j += 1 }
        return j - i >= 2 && test(j, PythonChars.isWordChar)
    }

    var chunks: [[Unicode.Scalar]] = []
    var i = 0
    while i < n {
        if isWhitespace(s[i]) {
            var j = i
            while j < n && isWhitespace(s[j]) { j += 1 }
            chunks.append(Array(s[i..<j]))
            i = j
            continue
        }
        // (?<=wp) -{2,} (?=\w)
        if s[i] == "-", test(i - 1, isWordPunct) {
            var j = i
            while at(j) == "-" { j += 1 }
            if j - i >= 2 && test(j, PythonChars.isWordChar) {
                chunks.append(Array(s[i..<j]))
                i = j
                continue
            }
        }
        // nws+? followed by a hyphenated-word break, end of word, or em-dash.
        var end = n
        var length = 1
        while i + length <= n {
            let k = i + length  // the first character after the lazy run
            if !(k - 1 < n && !isWhitespace(s[k - 1])) { break }
            // -(?: (?<=lt{2}-) | (?<=lt-lt-)) (?= lt -? lt)
            if at(k) == "-" {
                let behind = (test(k - 1, isLetter) && test(k - 2, isLetter))
                    || (test(k - 1, isLetter) && at(k - 2) == "-" && test(k - 3, isLetter))
                let ahead = test(k + 1, isLetter)
                    && (test(k + 2, isLetter) || (at(k + 2) == "-" && test(k + 3, isLetter)))
                if behind && ahead {
                    end = k + 1
                    break
                }
            }
            // (?=ws|\Z)
            if k == n || isWhitespace(s[k]) {
                end = k
                break
            }
            // (?<=wp) (?=-{2,}\w)
            if isWordPunct(s[k - 1]) && emDashAhead(k) {
                end = k
                break
            }
            length += 1
        }
        chunks.append(Array(s[i..<end]))
        i = end
    }
    return chunks
}

// MARK: - TextWrapper._wrap_chunks

private func isBlank(_ chunk: [Unicode.Scalar]) -> Bool {
    chunk.allSatisfy(PythonChars.isUnicodeSpace)
}

private func wrapChunks(_ input: [[Unicode.Scalar]], width: Int) -> [String] {
    var lines: [String] = []
    var chunks = Array(input.reversed())
    while !chunks.isEmpty {
        var line: [[Unicode.Scalar]] = []
        var length = 0
        if let last = chunks.last, isBlank(last), !lines.isEmpty {
            chunks.removeLast()
        }
        while let last = chunks.last, length + last.count <= width {
            line.append(last)
            length += last.count
            chunks.removeLast()
        }
        if let last = chunks.last, last.count > width {
            handleLongWord(&chunks, &line, length: length, width: width)
        }
        if let last = line.last, isBlank(last) {
            line.removeLast()
        }
        if !line.isEmpty {
            lines.append(String(scalars: line.joined()))
        }
    }
    return lines
}

/// `_handle_long_word`: put as much of the too-long chunk on this line as fits,
/// breaking after its last hyphen in that space when there is one.
private func handleLongWord(
    _ chunks: inout [[Unicode.Scalar]], _ line: inout [[Unicode.Scalar]], length: Int, width: Int
) {
    guard let chunk = chunks.last else { return }
    let spaceLeft = width < 1 ? 1 : width - length
    var end = spaceLeft
    if chunk.count > spaceLeft {
        if let hyphen = chunk[0..<max(0, spaceLeft)].lastIndex(of: "-"), hyphen > 0,
           chunk[0..<hyphen].contains(where: { $0 != "-" }) {
            end = hyphen + 1
        }
    }
    end = min(max(end, 0), chunk.count)
    line.append(Array(chunk[0..<end]))
    chunks[chunks.count - 1] = Array(chunk[end...])
}
