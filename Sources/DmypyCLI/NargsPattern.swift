// argparse matches arguments to actions with regular expressions over a "pattern
// string": one letter per command-line string, `O` for an option, `A` for an
// argument, `-` for the `--` separator. Each action's `nargs` becomes a group
// (`_get_nargs_pattern`), and `re.match` (anchored at the start, greedy, with
// backtracking) decides how many strings each group takes. The groups only ever
// use single letters and character classes with `*`, so this file matches them
// with a small backtracking matcher of the same semantics.

/// One letter of the pattern string.
enum PatternLetter: Equatable, Sendable {
    case option     // "O"
    case argument   // "A"
    case separator  // "-", the first "--"
}

/// A character class with a greedy quantifier, e.g. `-*`, `A`, `[A-]*`.
struct PatternAtom: Sendable {
    var allowed: [PatternLetter]
    var min: Int
    var max: Int?  // nil: unbounded

    static func one(_ letter: PatternLetter) -> PatternAtom { PatternAtom(allowed: [letter], min: 1, max: 1) }
    static func any(_ letters: PatternLetter...) -> PatternAtom { PatternAtom(allowed: letters, min: 0, max: nil) }
}

/// One capturing group: the pattern of one action.
typealias PatternGroup = [PatternAtom]

extension ArgumentSpec {
    /// `_get_nargs_pattern`. Options cannot take `--` (argparse deletes the
    /// `-*` and `-` parts of their patterns).
    var nargsPattern: PatternGroup {
        if isPositional {
            switch nargs {
            case .zero: return [.any(.separator)]                                       // (-*-*)
            case .single: return [.any(.separator), .one(.argument), .any(.separator)]  // (-*A-*)
            case .zeroOrMore: return [.any(.separator), .any(.argument, .separator)]    // (-*[A-]*)
            case .oneOrMore:                                                            // (-*A[A-]*)
                return [.any(.separator), .one(.argument), .any(.argument, .separator)]
            case .parser:                                                               // (-*A[-AO]*)
                return [.any(.separator), .one(.argument), .any(.separator, .argument, .option)]
            }
        }
        switch nargs {
        case .zero: return []                                                   // ()
        case .single: return [.one(.argument)]                                  // (A)
        case .zeroOrMore: return [.any(.argument)]                              // ([A]*)
        case .oneOrMore: return [.one(.argument), .any(.argument)]              // (A[A]*)
        case .parser: return [.one(.argument), .any(.argument, .option)]         // (A[AO]*)
        }
    }
}

/// `re.match` of the concatenated groups against `letters`: the length each
/// group captured, or nil when there is no match.
func matchGroups(_ groups: [PatternGroup], _ letters: ArraySlice<PatternLetter>) -> [Int]? {
    let atoms = groups.flatMap { $0 }
    var groupOfAtom: [Int] = []
    for (g, group) in groups.enumerated() { groupOfAtom += Array(repeating: g, count: group.count) }
    var taken = Array(repeating: 0, count: atoms.count)
    let input = Array(letters)

    // Greedy with backtracking: each atom first takes as many letters as it can,
    // then gives them back one at a time until the rest of the pattern matches.
    func match(_ atom: Int, _ position: Int) -> Bool {
        if atom == atoms.count { return true }
        let a = atoms[atom]
        var run = 0
        while position + run < input.count, a.max.map({ run < $0 }) ?? true,
              a.allowed.contains(input[position + run]) {
            run += 1
        }
        guard run >= a.min else { return false }
        for length in stride(from: run, through: a.min, by: -1) {
            taken[atom] = length
            if match(atom + 1, position + length) { return true }
        }
        return false
    }

    guard match(0, 0) else { return nil }
    var lengths = Array(repeating: 0, count: groups.count)
    for (atom, length) in taken.enumerated() { lengths[groupOfAtom[atom]] += length }
    return lengths
}
