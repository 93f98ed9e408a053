/// Whether an engine has aged enough to be replaced by a fresh one.
///
/// mypy's fine-grained state degrades as it is updated: in mypy 2.4.1, editing the same modules
/// again and again makes each update slower (78 ms to 373 ms after 60 edits of one module of a
/// 200-module project, measured against mypy's own `Server`, no daemon of ours involved), and the
/// process only grows. A fresh engine built from scratch is fast again. The daemon builds one in
/// the background and swaps it in when it is warm (`Workspace`), so this costs no waiting.
///
/// The rule: when the median of the last eight updates takes more than four times the median of
/// the engine's first eight (and more than half a second), or after `maximumUpdates` updates when
/// that is set (`DMYPY_RECYCLE_AFTER`). Medians, so that one slow update (an edit of a module
/// everything imports) or one fast one does not decide.
struct EngineAging: Equatable {
    static let window = 8
    static let slowdownFactor = 4.0
    static let noticeableSeconds = 0.5

    let maximumUpdates: Int?
    private(set) var updates = 0
    /// The median of the engine's first `window` updates: what it does when young.
    private(set) var baseline: Double?
    private var recent: [Double] = []

    init(maximumUpdates: Int? = nil) {
        self.maximumUpdates = maximumUpdates
    }

    /// Records one incremental update's engine time; returns why the engine should be replaced, or nil.
    mutating func record(seconds: Double) -> String? {
        updates += 1
        recent.append(seconds)
        if recent.count > Self.window { recent.removeFirst() }
        if let maximumUpdates, updates >= maximumUpdates {
            return "it has made \(updates) updates (DMYPY_RECYCLE_AFTER=\(maximumUpdates))"
        }
        guard recent.count == Self.window else { return nil }
        let median = recent.sorted()[Self.window / 2]
        guard let baseline else {
            self.baseline = median
            return nil
        }
        guard median > Self.noticeableSeconds, median > Self.slowdownFactor * baseline else { return nil }
        return "its updates now take \(Self.format(median)) s (median of the last \(Self.window)), its first ones took \(Self.format(baseline)) s"
    }

    private static func format(_ seconds: Double) -> String {
        String((seconds * 100).rounded() / 100)
    }
}
