@testable import DmypyDaemon
import Testing

@Suite struct EngineAgingTests {
    @Test func steadyUpdatesNeverAge() {
        var aging = EngineAging()
        for i in 0..<1000 {
            #expect(aging.record(seconds: 0.2 + Double(i % 7) * 0.05) == nil)
        }
        #expect(aging.updates == 1000)
    }

    @Test func aSlowdownOfTheMedianAgesIt() {
        var aging = EngineAging()
        for _ in 0..<8 { #expect(aging.record(seconds: 0.1) == nil) }
        // Updates creep up; one slow update (a core edit) is not a slowdown.
        #expect(aging.record(seconds: 5.0) == nil)
        var reason: String?
        var count = 0
        while reason == nil && count < 100 {
            reason = aging.record(seconds: 0.1 + Double(count) * 0.02)
            count += 1
        }
        #expect(reason?.contains("its first ones took 0.1 s") == true, "\(reason ?? "nil")")
        // 4x the first median is 0.4 s, but nothing under half a second counts: the median passes 0.5 s.
        #expect(count > 20)
    }

    @Test func fastEnginesAreNotReplacedForSmallSlowdowns() {
        var aging = EngineAging()
        for _ in 0..<8 { _ = aging.record(seconds: 0.01) }
        for _ in 0..<50 { #expect(aging.record(seconds: 0.3) == nil, "30x slower, but still under half a second") }
    }

    @Test func oneFastUpdateAmongSlowOnesIsNoBaseline() {
        var aging = EngineAging()
        // A project whose every edit takes 0.8 s, and one trivial edit: no reason to rebuild.
        #expect(aging.record(seconds: 0.02) == nil)
        for _ in 0..<200 { #expect(aging.record(seconds: 0.8) == nil) }
    }

    @Test func aMaximumNumberOfUpdates() {
        var aging = EngineAging(maximumUpdates: 3)
        #expect(aging.record(seconds: 1) == nil)
        #expect(aging.record(seconds: 1) == nil)
        #expect(aging.record(seconds: 1) == "it has made 3 updates (DMYPY_RECYCLE_AFTER=3)")
    }
}
