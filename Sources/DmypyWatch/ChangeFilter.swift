/// What the watcher reports and what it never looks at.
///
/// Reported: Python sources and stubs (`.py`, `.pyi`), `.pth` files, mypy's configuration files,
/// `py.typed` markers, directories, and `.git/HEAD`. Everything else in a watched directory (editor
/// swap and backup files, temporary files of atomic saves, caches) produces no batch.
public enum ChangeFilter {
    /// The files mypy reads its configuration from (mypy's `defaults.CONFIG_FILES`).
    public static let configFileNames: Set<String> = ["mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"]

    /// Directory names never descended into, as mypy's own source discovery skips them
    /// (`find_sources.py`: `__pycache__`, `site-packages`, `node_modules` and every name starting
    /// with a dot). `.git` is the one exception: only its `HEAD` is watched.
    public static func isIgnoredDirectory(_ name: some StringProtocol) -> Bool {
        name.hasPrefix(".") || name == "__pycache__" || name == "site-packages" || name == "node_modules"
    }

    /// Editor swap, lock, backup and probe files and the temporaries of atomic saves:
    /// `.a.py.swp`/`.swx`/`.swo`, `a.py~`, `.#a.py` (emacs lock), `#a.py#` (emacs autosave),
    /// `4913` (vim's write probe), `*.tmp`, `*.bak`, `*.orig`, JetBrains' `___jb_tmp___`/`___jb_old___`.
    public static func isScratchFile(_ name: some StringProtocol) -> Bool {
        if name == "4913" || name.hasSuffix("~") || name.hasPrefix(".#") { return true }
        if name.hasPrefix("#") && name.hasSuffix("#") { return true }
        for suffix in [".swp", ".swx", ".swo", ".tmp", ".bak", ".orig", ".kate-swp", "___jb_tmp___", "___jb_old___"]
        where name.hasSuffix(suffix) {
            return true
        }
        return false
    }

    /// True for a file name the daemon cares about in a watched source directory.
    public static func isReportableFile(_ name: some StringProtocol) -> Bool {
        if isScratchFile(name) { return false }
        if name.hasSuffix(".py") || name.hasSuffix(".pyi") || name.hasSuffix(".pth") { return true }
        return name == "py.typed" || configFileNames.contains(String(name))
    }
}
