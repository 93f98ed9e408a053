/// Between file paths and module names, as mypy lays modules out under a source root.
///
/// The rule, kept to the common cases: under a root, `a/b/c.py` and `a/b/c.pyi` are module `a.b.c`,
/// `a/b/__init__.py(i)` is package `a.b`, a directory `a/b` is (namespace) package `a.b`, and a
/// first directory `foo-stubs` stands for `foo` (PEP 561 stub packages). Every component must be a
/// Python identifier. Other files (`.pth`, configuration) have no module name.
enum ModuleNames {
    /// The source root a module's path implies: `/r/a/b/c.py` for `a.b.c` gives `/r`; nil when
    /// the path does not end with the module's name (a script checked as `__main__`, say).
    static func sourceRoot(module: String, path: String) -> String? {
        guard path.hasPrefix("/"), var components = sourceComponents(path) else { return nil }
        let parts = module.split(separator: ".")
        guard !parts.isEmpty, parts.count <= components.count else { return nil }
        let tail = components.count - parts.count
        for (index, part) in parts.enumerated() {
            let component = components[tail + index]
            guard component == part || (index == 0 && component == part + "-stubs") else { return nil }
        }
        components.removeLast(parts.count)
        return "/" + components.joined(separator: "/")
    }

    /// The module a file or directory at `path` would be under `root`, or nil.
    static func moduleName(path: String, root: String) -> String? {
        guard path != root, PathName.isUnder(path, root) else { return nil }
        let relative = root == "/" ? String(path.dropFirst()) : String(path.dropFirst(root.count + 1))
        let last = PathName.lastComponent(relative)
        let isSource = last.hasSuffix(".py") || last.hasSuffix(".pyi")
        if !isSource && last.contains(".") { return nil }   // .pth, mypy.ini, py.typed, …
        guard var components = isSource ? sourceComponents(relative) : relative.split(separator: "/").map(String.init),
              !components.isEmpty else { return nil }
        if components[0].hasSuffix("-stubs") { components[0].removeLast("-stubs".count) }
        guard components.allSatisfy(isIdentifier) else { return nil }
        return components.joined(separator: ".")
    }

    /// The path's components with the extension and a final `__init__` removed (nil when it is
    /// not a `.py`/`.pyi` file).
    private static func sourceComponents(_ path: String) -> [String]? {
        var components = path.split(separator: "/").map(String.init)
        guard var last = components.popLast() else { return nil }
        if last.hasSuffix(".pyi") {
            last.removeLast(4)
        } else if last.hasSuffix(".py") {
            last.removeLast(3)
        } else {
            return nil
        }
        if last != "__init__" { components.append(last) }
        return components
    }

    /// Python's `str.isidentifier()` for the names that occur in practice (ASCII rules; any
    /// non-ASCII letter is accepted, as Python accepts most of them).
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        if first.isASCII && !(first == "_" || first.properties.isAlphabetic) { return false }
        return name.unicodeScalars.allSatisfy { !$0.isASCII || $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) }
    }
}
