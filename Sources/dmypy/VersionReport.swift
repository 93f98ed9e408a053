import DmypyClient
import DmypyEngine
import DmypySystem

/// `dmypy --version`: `dmypy <mypy version> (dmypy-swift <ours>)`. Editors parse the second word,
/// so it is the version of the mypy that would check this project.
enum VersionReport {
    static let ours = "0.1.0"

    static func mypyVersion(context: ClientContext) -> String {
        switch PythonLocator.locate(flags: [], environment: context.environment, directory: context.directory) {
        case .success(let interpreter): return interpreter.mypyVersion
        case .failure: return "\(EngineAdapter.pinnedMypyVersion)-not-installed"
        }
    }
}
