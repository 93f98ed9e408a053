/// Whether an engine has aged enough to be replaced by a fresh one.
///
/// mypy's fine-grained state degrades as it is updated: in mypy 2.4.1, editing the same modules
/// again and again makes each update slower (78 ms to 373 ms after 60 edits of one module of a
/// 200-module project, measured against mypy's own `Server`, no daemon of ours involved), and the
/// process only grows. A fresh engine built from scratch is fast again. The daemon builds one in
/// the background and swaps it in when it is warm (`Workspace`), so this costs no waiting.
///
/// The rule: once eight updates have been seen, when the median of the last eight takes more than
/// four times the engine's fastest update (and more than half a second), or after
/// `maximumUpdates` updates when that is set (`DMYPY_RECYCLE_AFTER`).
struct EngineAging: Equatable {
    static let window = 8
    static let slowdownFactor = 4.0
    static let noticeableSeconds = 0.5

    let maximumUpdates: Int?
    private(set) var updates = 0
    private(set) var fastest = Double.infinity
    private var recent: [Double] = []

    init(maximumUpdates: Int? = nil) {
        self.maximumUpdates = maximumUpdates
    }

    /// Records one incremental update's engine time; returns why the engine should be replaced, or nil.
    mutating func record(seconds: Double) -> String? {
        updates += 1
        fastest = min(fastest, seconds)
        recent.append(seconds)
        if recent.count > Self.window { recent.removeFirst() }
        if let maximumUpdates, updates >= maximumUpdates {
            return "it has made \(updates) updates (DMYPY_RECYCLE_AFTER=\(maximumUpdates))"
        }
        guard recent.count == Self.window else { return nil }
        let median = recent.sorted()[Self.window / 2]
        guard median > Self.noticeableSeconds, median > Self.slowdownFactor * fastest else { return nil }
        return "its updates now take \(Self.format(median)) s (median of \(Self.window)), its fastest took \(Self.format(fastest)) s"
    }

    private static func format(_ seconds: Double) -> String {
        String((seconds * 100).rounded() / 100)
    }
}
