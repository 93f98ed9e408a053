// What an action does with the strings it was given: argparse's `_get_values`
// (drop the first `--`, convert with `type=`, check `choices=`) and the action
// classes' `__call__` (store, store_true, count, help, version, subparsers).

extension ParseRun {
    /// `_get_values`.
    func values(for argument: ArgumentSpec, _ given: [String]) throws -> Value {
        var strings = given
        if argument.nargs != .parser, let dashes = strings.firstIndex(where: { $0.pyEquals("--") }) {
            strings.remove(at: dashes)  // only the first "--"
        }
        if strings.isEmpty && argument.nargs == .zeroOrMore && argument.isPositional {
            // dmypy's '*' positionals have no default and no choices.
            if let value = argument.defaultValue, value != .null { return value }
            return .list([])
        }
        if strings.count == 1 && argument.nargs == .single {
            let value = try convert(argument, strings[0])
            try check(argument, value)
            return value
        }
        if argument.nargs == .parser {
            let items = strings.map(Value.string)
            if let first = items.first { try check(argument, first) }
            return .list(items)
        }
        // Everything else is a list, even for a single-valued option given
        // `--opt=--` (argparse's own quirk: the "--" is removed, leaving []).
        let items = try strings.map { try convert(argument, $0) }
        for item in items { try check(argument, item) }
        return .list(items)
    }

    /// `_get_value`: the `type=` conversion.
    private func convert(_ argument: ArgumentSpec, _ string: String) throws -> Value {
        let invalid = ArgumentError(argument, "invalid \(argument.type.name) value: \(pythonRepr(string))")
        switch argument.type {
        case .string:
            return .string(string)
        case .int:
            guard let number = PythonNumbers.parseInt(string) else { throw invalid }
            return .int(number)
        case .fileDescriptor:
            guard let number = PythonNumbers.parseInt(string), !number.saturated,
                  Int32(exactly: number.value) != nil else { throw invalid }
            return .int(number)
        case .float:
            guard let number = PythonNumbers.parseFloat(string) else { throw invalid }
            return .float(number)
        }
    }

    /// `_check_value`: `choices=`.
    private func check(_ argument: ArgumentSpec, _ value: Value) throws {
        guard let choices = argument.choices, case .string(let text) = value else { return }
        if !choices.contains(where: { $0.pyEquals(text) }) {
            let allowed = choices.map(pythonRepr).joined(separator: ", ")
            throw ArgumentError(argument, "invalid choice: \(pythonRepr(text)) (choose from \(allowed))")
        }
    }

    /// The action's `__call__`.
    func apply(_ argument: ArgumentSpec, _ value: Value) throws {
        switch argument.kind {
        case .store:
            if let dest = argument.dest { namespace.values[dest] = value }
        case .storeTrue:
            if let dest = argument.dest { namespace.values[dest] = .bool(true) }
        case .count:
            guard let dest = argument.dest else { return }
            var count = 0
            if case .int(let current)? = namespace.values[dest] { count = current.value }
            let (next, overflow) = count.addingReportingOverflow(1)
            namespace.values[dest] = .int(PythonInt(value: overflow ? count : next, saturated: overflow))
        case .help:
            throw ParseExit.exit(code: 0, stdout: parser.formatHelp(), stderr: "")
        case .version:
            throw ParseExit.version
        case .subparsers:
            try runSubcommand(argument, value)
        }
    }

    /// `_SubParsersAction.__call__`: parse the rest with the chosen subparser and
    /// merge its namespace; what it did not recognize goes up to this parser.
    private func runSubcommand(_ argument: ArgumentSpec, _ value: Value) throws {
        guard case .list(let items) = value, case .string(let name)? = items.first else { return }
        guard let subcommand = spec.subcommands.first(where: { $0.name.pyEquals(name) }) else {
            let choices = spec.subcommands.map(\.name).joined(separator: ", ")
            throw ArgumentError(argument, "unknown parser \(pythonRepr(name)) (choices: \(choices))")
        }
        let rest: [String] = items.dropFirst().compactMap {
            if case .string(let text) = $0 { return text } else { return nil }
        }
        let subparser = ArgumentParser(spec: subcommand.parser, context: parser.context)
        var subnamespace = Namespace()
        let unrecognized = try subparser.parseKnownArgs(rest, into: &subnamespace)
        for (dest, value) in subnamespace.values { namespace.values[dest] = value }
        namespace.unrecognized += unrecognized
    }
}
