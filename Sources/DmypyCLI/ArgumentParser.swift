// argparse's parsing algorithm (Python 3.11's `parse_known_args` /
// `_parse_known_args`), statement for statement, for the features dmypy uses.
// What happens to the strings an action receives is in ActionValues.swift.
//
// In short: every string is classified as option (`O`), argument (`A`) or the
// first `--` (`-`); then options and runs of positionals are consumed
// alternately, each taking as many strings as its nargs pattern matches. The
// subcommand is a positional with nargs=PARSER that swallows everything from the
// subcommand name on and parses it with the subparser.

/// `argparse.Namespace`: the parsed values by dest.
struct Namespace {
    var values: [String: Value] = [:]
    /// `_UNRECOGNIZED_ARGS_ATTR`: what a subparser did not recognize, passed up
    /// so the top-level parser reports it.
    var unrecognized: [String] = []
}

/// What parsing needs besides the parser definition.
struct ParseContext {
    /// The terminal width figure (`shutil.get_terminal_size().columns`).
    var columns: Int
    /// Reads an `@file`.
    var readFile: (String) throws -> String
}

struct ArgumentParser {
    let spec: ParserSpec
    let context: ParseContext

    /// `parse_args`: as `parse_known_args`, and leftovers are an error.
    func parseArgs(_ arguments: [String]) throws(ParseExit) -> Namespace {
        var namespace = Namespace()
        let extras = try parseKnownArgs(arguments, into: &namespace)
        if !extras.isEmpty {
            throw error("unrecognized arguments: " + extras.joined(separator: " "))
        }
        return namespace
    }

    /// `parse_known_args`: fills `namespace`, returns the strings not recognized.
    func parseKnownArgs(_ arguments: [String], into namespace: inout Namespace) throws(ParseExit) -> [String] {
        for argument in spec.arguments {
            if let dest = argument.dest, namespace.values[dest] == nil, let value = argument.defaultValue {
                namespace.values[dest] = value
            }
        }
        for (dest, value) in spec.defaults where namespace.values[dest] == nil {
            namespace.values[dest] = value
        }

        var extras: [String]
        do {
            let run = try ParseRun(parser: self, arguments: arguments, namespace: namespace)
            extras = try run.parse()
            namespace = run.namespace
        } catch let exit as ParseExit {
            throw exit
        } catch let failure as ArgumentError {
            throw error(failure.text)
        } catch {
            throw self.error(String(describing: error))  // not reached: nothing else is thrown
        }

        extras += namespace.unrecognized
        namespace.unrecognized = []
        return extras
    }

    /// `parser.error(message)`.
    func error(_ message: String) -> ParseExit {
        spec.error(message, columns: context.columns)
    }

    /// `parser.format_help()`.
    func formatHelp() -> String {
        HelpFormatter(parser: spec, columns: context.columns).formatHelp()
    }
}

/// The state of one `_parse_known_args` call (argparse keeps it in closures).
final class ParseRun {
    let parser: ArgumentParser
    var spec: ParserSpec { parser.spec }
    let strings: [String]
    let letters: [PatternLetter]
    /// `option_string_indices`.
    let options: [Int: OptionMatch]
    var namespace: Namespace
    var seen: Set<Int> = []
    var extras: [String] = []
    /// Positionals not consumed yet (indices into `spec.arguments`).
    var positionals: [Int]

    init(parser: ArgumentParser, arguments: [String], namespace: Namespace) throws {
        self.parser = parser
        self.namespace = namespace
        positionals = parser.spec.arguments.indices.filter { parser.spec.arguments[$0].isPositional }

        var strings = arguments
        if parser.spec.expandsArgumentFiles {
            do {
                strings = try expandArgumentFiles(arguments, readFile: parser.context.readFile)
            } catch .unreadable(let message) {
                throw parser.error(message)
            } catch .tooDeep {
                throw ParseExit.exit(
                    code: 1, stdout: "",
                    stderr: "RecursionError: maximum recursion depth exceeded while calling a Python object\n")
            }
        }
        self.strings = strings

        do {
            (letters, options) = try parser.spec.patternLetters(for: strings)
        } catch {
            throw parser.error(error.message)
        }
    }

    /// The main loop of `_parse_known_args`.
    func parse() throws -> [String] {
        var start = 0
        let lastOption = options.keys.max() ?? -1
        while start <= lastOption {
            guard let nextOption = options.keys.filter({ $0 >= start }).min() else { break }
            if start != nextOption {
                let end = try consumePositionals(from: start)
                if end > start {
                    start = end
                    continue
                }
                start = end
            }
            if options[start] == nil {
                extras += strings[start..<nextOption]
                start = nextOption
            }
            start = try consumeOptional(at: start)
        }
        let stop = try consumePositionals(from: start)
        if stop < strings.count { extras += strings[stop...] }

        let missing = spec.arguments.indices
            .filter { !seen.contains($0) && spec.arguments[$0].required }
            .compactMap { spec.arguments[$0].displayName }
        if !missing.isEmpty {
            throw parser.error("the following arguments are required: " + missing.joined(separator: ", "))
        }
        return extras
    }

    /// `consume_optional`: the option at `start` and its arguments (or, for a
    /// cluster like `-vv`, each flag in it). Returns where parsing continues.
    private func consumeOptional(at start: Int) throws -> Int {
        guard var match = options[start] else { return start + 1 }
        var actions: [(argument: Int, strings: [String], optionString: String)] = []
        var stop = start + 1
        while true {
            guard let index = match.argument else {
                extras.append(strings[start])
                return start + 1
            }
            let argument = spec.arguments[index]
            if let explicit = match.explicitArgument {
                let count = try matchArgument(argument, [.argument][...])
                let optionChars = match.optionString.scalars
                let explicitChars = explicit.scalars
                if count == 0, optionChars.count > 1, optionChars[1] != "-", let letter = explicitChars.first {
                    // A flag with text glued on: the text is more single-dash flags.
                    actions.append((index, [], match.optionString))
                    let next = String(scalars: [optionChars[0], letter])
                    let rest = String(scalars: explicitChars.dropFirst())
                    guard let hit = spec.optionStringTable.first(where: { $0.option.pyEquals(next) }) else {
                        throw ArgumentError(argument, "ignored explicit argument \(pythonRepr(explicit))")
                    }
                    match = OptionMatch(argument: hit.index, optionString: next,
                                        explicitArgument: rest.isEmpty ? nil : rest)
                } else if count == 1 {
                    stop = start + 1
                    actions.append((index, [explicit], match.optionString))
                    break
                } else {
                    throw ArgumentError(argument, "ignored explicit argument \(pythonRepr(explicit))")
                }
            } else {
                let first = start + 1
                let count = try matchArgument(argument, letters[first...])
                stop = first + count
                actions.append((index, Array(strings[first..<stop]), match.optionString))
                break
            }
        }
        for action in actions {
            try takeAction(action.argument, action.strings)
        }
        return stop
    }

    /// `consume_positionals`: as many positionals as can match from `start`.
    private func consumePositionals(from start: Int) throws -> Int {
        let counts = matchPositionals(letters[start...])
        var index = start
        for (argument, count) in zip(positionals, counts) {
            let taken = Array(strings[index..<(index + count)])
            index += count
            try takeAction(argument, taken)
        }
        positionals.removeFirst(min(counts.count, positionals.count))
        return index
    }

    /// `_match_arguments_partial`: the longest prefix of the remaining
    /// positionals whose patterns match, and how many strings each takes.
    private func matchPositionals(_ letters: ArraySlice<PatternLetter>) -> [Int] {
        for count in stride(from: positionals.count, to: 0, by: -1) {
            let groups = positionals.prefix(count).map { spec.arguments[$0].nargsPattern }
            if let lengths = matchGroups(groups, letters) { return lengths }
        }
        return []
    }

    /// `_match_argument`: how many strings an option takes.
    private func matchArgument(_ argument: ArgumentSpec, _ letters: ArraySlice<PatternLetter>) throws -> Int {
        if let lengths = matchGroups([argument.nargsPattern], letters), let length = lengths.first {
            return length
        }
        switch argument.nargs {
        case .oneOrMore: throw ArgumentError(argument, "expected at least one argument")
        default: throw ArgumentError(argument, "expected one argument")
        }
    }

    /// `take_action`: convert the strings and apply the action.
    private func takeAction(_ index: Int, _ given: [String]) throws {
        seen.insert(index)
        let argument = spec.arguments[index]
        let value = try values(for: argument, given)
        try apply(argument, value)
    }
}
