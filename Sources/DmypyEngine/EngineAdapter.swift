import DmypySystem
import Glibc

/// The Python adapter that hosts mypy, embedded in the binary at build time from
/// `Resources/engine_adapter.py`.
public enum EngineAdapter {
    /// The mypy version the product is tested with (see README for the supported range).
    public static let pinnedMypyVersion = "2.4.1"

    /// The adapter's source text.
    public static var source: [UInt8] { PackageResources.engine_adapter_py }

    /// The cache-slot module (`engine_cache.py`): imported by the adapter, and run on its own
    /// (`python -c <source> --write-cache <spec>`) as the background cache writer.
    public static var cacheSource: [UInt8] { PackageResources.engine_cache_py }

    /// The file name the daemon runs the adapter by.
    public static let adapterFile = "dmypy_engine_adapter.py"

    /// Every file `install` writes, with its text; the adapter last, so that a directory holding
    /// it holds what it imports.
    static var files: [(name: String, text: [UInt8])] {
        [(cacheModuleFile, cacheSource), (fastPathModuleFile, PackageResources.engine_fastpath_py),
         (updateModuleFile, PackageResources.engine_update_py), (remoteModuleFile, PackageResources.engine_remote_py),
         (adapterFile, source)]
    }

    /// Writes the adapter and the modules it imports into `directory` (a private directory of
    /// the daemon) and returns the adapter's path.
    public static func install(in directory: String) throws(SystemError) -> String {
        for file in files {
            try FileSystem.writeAtomically("\(directory)/\(file.name)", file.text, mode: 0o600)
        }
        return "\(directory)/\(adapterFile)"
    }

    /// Removes what `install` wrote into `directory`.
    public static func uninstall(from directory: String) {
        for file in files { FileSystem.remove("\(directory)/\(file.name)") }
    }

    /// The file name the adapter imports the cache module by.
    public static let cacheModuleFile = "dmypy_engine_cache.py"

    /// The fast-path module (`engine_fastpath.py`), imported by the adapter.
    public static let fastPathModuleFile = "dmypy_engine_fastpath.py"

    /// mypy's fine-grained update driver as the fast path runs it (`engine_update.py`).
    public static let updateModuleFile = "dmypy_engine_update.py"

    /// The remote-cache module (`engine_remote.py`): imported by the adapter at a start without a
    /// local slot, and run on its own by `dmypy cache push/pull/status`.
    public static let remoteModuleFile = "dmypy_engine_remote.py"
}
