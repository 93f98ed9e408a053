import DmypySystem
import Glibc

/// The Python adapter that hosts mypy, embedded in the binary at build time from
/// `Resources/engine_adapter.py`.
public enum EngineAdapter {
    /// The mypy version the product is tested with (see README for the supported range).
    public static let pinnedMypyVersion = "2.4.1"

    /// The adapter's source text.
    public static var source: [UInt8] { PackageResources.engine_adapter_py }

    /// Writes the adapter into `directory` (a private directory of the daemon) and returns its path.
    public static func install(in directory: String) throws(SystemError) -> String {
        let path = "\(directory)/dmypy_engine_adapter.py"
        try FileSystem.writeAtomically(path, source, mode: 0o600)
        return path
    }
}
