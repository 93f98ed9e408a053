// The subset of argparse's data model that mypy's dmypy parser uses.
//
// An `ArgumentSpec` is one argparse `Action` (what `add_argument` creates); a
// `ParserSpec` is one `ArgumentParser`. Both are plain values, declared once in
// `DmypyParser.swift` the way client.py declares them.

/// argparse's `nargs`: how many command-line strings an argument consumes.
enum Nargs: Equatable, Sendable {
    /// `nargs=0`: flags (`store_true`, `count`, `help`, `version`).
    case zero
    /// `nargs=None`: exactly one string, stored as a single value.
    case single
    /// `nargs='*'`: any number, stored as a list.
    case zeroOrMore
    /// `nargs='+'`: at least one, stored as a list.
    case oneOrMore
    /// `argparse.PARSER`: the subcommand name and everything after it.
    case parser
}

/// argparse's `action=`.
enum ActionKind: Equatable, Sendable {
    case store
    case storeTrue
    case count
    case help
    case version
    case subparsers
}

/// argparse's `type=`: the converter applied to each string. Its `name` is the
/// converter's `__name__`, which appears in "invalid <name> value" errors.
enum ValueType: Equatable, Sendable {
    case string
    case int
    case float
    /// dmypy-swift's own `--ready-fd`: an `int` that must also fit a C `int`.
    case fileDescriptor

    var name: String {
        switch self {
        case .string: return "str"
        case .int, .fileDescriptor: return "int"
        case .float: return "float"
        }
    }
}

/// argparse's `help=`: absent (`None`), `argparse.SUPPRESS`, or a text.
enum HelpText: Equatable, Sendable {
    case absent
    case suppressed
    case text(String)
}

/// A value in the namespace (`vars(args)`).
enum Value: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(PythonInt)
    case float(Double)
    case string(String)
    case list([Value])
}

/// One argparse action.
struct ArgumentSpec: Sendable {
    /// Empty for a positional.
    var optionStrings: [String]
    /// The namespace attribute; nil is `argparse.SUPPRESS` (nothing stored).
    var dest: String?
    var kind: ActionKind
    var nargs: Nargs
    var type: ValueType = .string
    var choices: [String]? = nil
    /// The namespace value before parsing; nil is `argparse.SUPPRESS` (not set).
    var defaultValue: Value? = .null
    var metavar: String? = nil
    var help: HelpText
    var required: Bool = false

    var isPositional: Bool { optionStrings.isEmpty }

    /// `_get_action_name`: how errors name this argument.
    var displayName: String? {
        if !optionStrings.isEmpty { return optionStrings.joined(separator: "/") }
        if let metavar { return metavar }
        if let dest { return dest }
        if let choices, !choices.isEmpty { return "{" + choices.joined(separator: ",") + "}" }
        return nil
    }
}

/// One subcommand of a parser (`subparsers.add_parser(name, help=...)`).
struct SubcommandSpec: Sendable {
    var name: String
    /// nil when `add_parser` got no `help=` (then it is not listed in the help).
    var help: String?
    var parser: ParserSpec
}

/// How a parser's help is formatted (`formatter_class=`).
enum FormatterStyle: Equatable, Sendable {
    /// `argparse.HelpFormatter`.
    case standard
    /// mypy's `AugmentedHelpFormatter`: `RawDescriptionHelpFormatter` with
    /// `max_help_position=30`.
    case augmented

    var maxHelpPosition: Int { self == .augmented ? 30 : 24 }
    var rawDescription: Bool { self == .augmented }
}

/// One `argparse.ArgumentParser`.
struct ParserSpec: Sendable {
    var prog: String
    var description: String? = nil
    var style: FormatterStyle = .standard
    /// `fromfile_prefix_chars='@'`.
    var expandsArgumentFiles: Bool = false
    /// The actions, in the order `add_argument` created them (`parser._actions`);
    /// `-h/--help` comes first, as `add_help=True` adds it in the constructor.
    var arguments: [ArgumentSpec]
    /// The subcommands, when one argument is the subparsers action.
    var subcommands: [SubcommandSpec] = []
    /// `parser.set_defaults(...)`: namespace values no argument owns.
    var defaults: [(dest: String, value: Value)] = []

    /// `parser._option_string_actions`, in insertion order.
    var optionStringTable: [(option: String, index: Int)] {
        var table: [(option: String, index: Int)] = []
        for (index, argument) in arguments.enumerated() {
            for option in argument.optionStrings { table.append((option, index)) }
        }
        return table
    }

    /// `parser._has_negative_number_optionals`.
    var hasNegativeNumberOptionals: Bool {
        arguments.contains { $0.optionStrings.contains(where: looksLikeNegativeNumber) }
    }
}
