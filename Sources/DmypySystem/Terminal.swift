import CSupport
import Glibc

/// Terminal facts, computed the way Python's `shutil.get_terminal_size` and mypy's `util` do.
public enum Terminal {
    /// `shutil.get_terminal_size().columns`: $COLUMNS if positive, else the size of the terminal
    /// on stdout, else 80.
    public static func columns(environment: [String: String]) -> Int {
        if let text = environment["COLUMNS"], let value = Int(text), value > 0 { return value }
        let fromTerminal = cs_terminal_columns(1)
        return fromTerminal > 0 ? Int(fromTerminal) : 80
    }

    /// mypy's `get_terminal_width()`: MYPY_FORCE_TERMINAL_WIDTH, else the terminal size, else 80.
    public static func mypyWidth(environment: [String: String]) -> Int {
        if let text = environment["MYPY_FORCE_TERMINAL_WIDTH"], let value = Int(text.trimmingSpaces), value != 0 { return value }
        let columns = self.columns(environment: environment)
        return columns != 0 ? columns : 80
    }

    /// mypy's `should_force_color()`: MYPY_FORCE_COLOR, else FORCE_COLOR; an integer is its truth,
    /// any other non-empty text is true.
    public static func shouldForceColor(environment: [String: String]) -> Bool {
        let value = environment["MYPY_FORCE_COLOR"] ?? environment["FORCE_COLOR"] ?? "0"
        if let number = Int(value.trimmingSpaces) { return number != 0 }
        return !value.isEmpty
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
