@testable import DmypyDaemon
import DmypyWire
import Testing

/// The schedule's rules, event by event: when an answer comes from memory, when a check is shared,
/// what an engine replacement does to the queue.
@Suite struct CheckScheduleTests {
    final class Recorder: JobWaiter {
        var output: [String] = []
        var finished: [JSONObject] = []
        func jobOutput(key: String, text: String) { output.append(text) }
        func jobProgress(_ text: String) {}
        func jobFinished(_ response: JSONObject) { finished.append(response) }
    }

    let files: JSONObject = ["files": .array(["a.py"]), "export_types": false, "is_tty": false, "terminal_width": 80]
    let answer: JSONObject = ["out": "Success: no issues found in 1 source file\n", "err": "", "status": 0]

    /// Submits a check and runs it to the end with `evidenceComplete`.
    func checkOnce(_ schedule: inout CheckSchedule, evidence: Bool = true, evidenceComplete: Bool = true) -> CheckSchedule.Finish {
        guard case .queued(let job) = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: evidence) else {
            Issue.record("not queued")
            return .init()
        }
        let started = schedule.startNext()
        #expect(started === job)
        return schedule.finished(job, succeeded: true, response: answer, evidenceComplete: evidenceComplete)
    }

    @Test func anIdenticalCheckWithEvidenceIsAnsweredFromMemory() {
        var schedule = CheckSchedule()
        let finish = checkOnce(&schedule)
        #expect(finish == .init(everythingChecked: true, confirm: false))
        guard case .fromMemory(let cached) = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else {
            Issue.record("not answered from memory")
            return
        }
        #expect(cached.response == answer)
    }

    @Test func withoutEvidenceTheEngineIsAsked() {
        var schedule = CheckSchedule()
        _ = checkOnce(&schedule)
        guard case .queued = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: false) else {
            Issue.record("answered without evidence")
            return
        }
    }

    @Test func aFileChangeVoidsTheAnswer() {
        var schedule = CheckSchedule()
        _ = checkOnce(&schedule)
        schedule.filesChanged()
        guard case .queued = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else {
            Issue.record("answered from memory after a change")
            return
        }
    }

    @Test func anotherRequestIsNotTheSameAnswer() {
        var schedule = CheckSchedule()
        _ = checkOnce(&schedule)
        var other = files
        other["export_types"] = true
        guard case .queued = schedule.submit(command: "check", data: other, waiter: Recorder(), evidence: true) else {
            Issue.record("a different request was answered from memory")
            return
        }
    }

    /// Files read before they were watched: the answer is not kept, and the build is checked again.
    @Test func anAnswerWithoutCompleteEvidenceIsNotKeptAndIsConfirmed() {
        var schedule = CheckSchedule()
        let finish = checkOnce(&schedule, evidenceComplete: false)
        #expect(finish.confirm)
        #expect(schedule.cachedAnswer == nil)
        let queued = schedule.queuePreCheck()
        let again = schedule.queuePreCheck()
        #expect(queued)
        #expect(!again, "the same pre-check is queued once")
        guard let preCheck = schedule.startNext() else {
            Issue.record("no pre-check")
            return
        }
        #expect(preCheck.waiters.isEmpty)
        #expect(schedule.finished(preCheck, succeeded: true, response: answer, evidenceComplete: true).confirm == false)
        guard case .fromMemory = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else {
            Issue.record("the confirmed answer was not kept")
            return
        }
    }

    @Test func aCheckThatBeganBeforeAChangeIsNotKeptAsCurrent() {
        var schedule = CheckSchedule()
        guard case .queued(let job) = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else { return }
        _ = schedule.startNext()
        schedule.filesChanged()
        let finish = schedule.finished(job, succeeded: true, response: answer, evidenceComplete: true)
        #expect(!finish.everythingChecked)
        guard case .queued = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else {
            Issue.record("an answer from before the change was given")
            return
        }
    }

    @Test func identicalChecksShareOneJob() {
        var schedule = CheckSchedule()
        let first = Recorder(), second = Recorder(), third = Recorder()
        guard case .queued(let job) = schedule.submit(command: "check", data: files, waiter: first, evidence: true) else { return }
        guard case .joinedQueued(let joined) = schedule.submit(command: "check", data: files, waiter: second, evidence: false) else {
            Issue.record("a queued job is always joined")
            return
        }
        #expect(joined === job)
        _ = schedule.startNext()
        guard case .queued = schedule.submit(command: "check", data: files, waiter: third, evidence: false) else {
            Issue.record("a running job was joined without evidence")
            return
        }
        #expect(job.waiters.count == 2)
    }

    @Test func aRunningJobIsJoinedWithEvidenceAtTheSameGeneration() {
        var schedule = CheckSchedule()
        guard case .queued(let job) = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else { return }
        _ = schedule.startNext()
        guard case .joinedRunning(let running) = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else {
            Issue.record("not joined")
            return
        }
        #expect(running === job)
        schedule.filesChanged()
        guard case .queued = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else {
            Issue.record("joined a job that began before a change")
            return
        }
    }

    /// A new engine builds the last build before anything else, unless the job first in line is a
    /// build itself; the interrupted job keeps its place and its waiters.
    @Test func aReplacedEngineBuildsTheLastBuildFirstThenTheInterruptedJob() {
        var schedule = CheckSchedule()
        _ = checkOnce(&schedule)
        let suggest: JSONObject = ["function": "a.f", "json": false]
        guard case .queued(let job) = schedule.submit(command: "suggest", data: suggest, waiter: Recorder(), evidence: true) else { return }
        _ = schedule.startNext()
        let generation = schedule.generation
        let givenUp = schedule.engineReplaced(crashed: false, voidAnswers: true)
        #expect(givenUp == nil)
        #expect(schedule.generation == generation + 1)
        #expect(schedule.cachedAnswer == nil)
        #expect(schedule.queue.count == 2)
        #expect(schedule.queue[0].isWarmUp && schedule.queue[0].data == files)
        #expect(schedule.queue[1] === job && job.waiters.count == 1)

        // An interrupted check builds the state itself: no warm-up before it.
        var other = files
        other["files"] = .array(["b.py"])
        var second = CheckSchedule()
        _ = checkOnce(&second)
        guard case .queued(let check) = second.submit(command: "check", data: other, waiter: Recorder(), evidence: true) else { return }
        _ = second.startNext()
        _ = second.engineReplaced(crashed: false, voidAnswers: true)
        #expect(second.queue.count == 1 && second.queue[0] === check)
    }

    @Test func aJobThatCrashesTheEngineTwiceIsGivenUp() {
        var schedule = CheckSchedule()
        guard case .queued(let job) = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else { return }
        _ = schedule.startNext()
        let first = schedule.engineReplaced(crashed: true, voidAnswers: false)
        #expect(first == nil)
        let next = schedule.startNext()
        #expect(next === job)
        let second = schedule.engineReplaced(crashed: true, voidAnswers: false)
        #expect(second === job)
        #expect(schedule.queue.isEmpty)
    }

    @Test func aRecycleKeepsTheAnswers() {
        var schedule = CheckSchedule()
        _ = checkOnce(&schedule)
        _ = schedule.engineReplaced(crashed: false, voidAnswers: false)
        guard case .fromMemory = schedule.submit(command: "check", data: files, waiter: Recorder(), evidence: true) else {
            Issue.record("a recycle voided the answer")
            return
        }
    }
}
