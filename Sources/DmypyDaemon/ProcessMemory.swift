import DmypySystem

/// A process's memory as /proc reports it, in the fields mypy's `status` returns (which mypy gets
/// from psutil; we read /proc directly, so no extra package is needed).
struct ProcessMemory {
    var rssMiB: Double
    var vmsMiB: Double
    var maxRSSMiB: Double

    init?(pid: Int32) {
        guard let bytes = FileSystem.read("/proc/\(pid)/status") else { return nil }
        var values: [String: Double] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = String(parts[0])
            guard ["VmRSS", "VmSize", "VmHWM"].contains(key) else { continue }
            let number = parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) } ?? 0
            values[key] = number / 1024   // kB to MiB
        }
        rssMiB = values["VmRSS"] ?? 0
        vmsMiB = values["VmSize"] ?? 0
        maxRSSMiB = values["VmHWM"] ?? 0
    }
}
