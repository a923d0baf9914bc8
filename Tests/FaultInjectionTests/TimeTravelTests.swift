import FaultInjection
import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

/// Time travel against the real kernel under the real QEMU: a scenario recorded with
/// QEMU's record/replay, replayed at an in-process session, and run backwards.
/// Each test records once (about a second of guest time) and replays once.
@Suite("Time travel: record, replay, reverse, last-write, pte-history (real QEMU)", .serialized)
struct TimeTravelSystemTests {
    /// A scratch folder for one recording, removed however the test ends.
    final class Scratch {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("mmdbg-tt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Records `text` as a scenario named `name` on `kernel` into `scratch`; returns the recording folder.
    static func record(_ text: String, name: String, kernel: String, into scratch: Scratch) throws -> (String, ScenarioResult) {
        var runner = ScenarioRunner(kernel: kernel)
        runner.recordDirectory = scratch.path
        let result = runner.run(try Scenario(text: text, path: name + ".mmdbg"))
        return ((scratch.path as NSString).appendingPathComponent(name), result)
    }

    /// An in-process session on a replay of `directory`, stopped at its start.
    static func replaySession(_ directory: String, kernel: String) throws -> (Session, ReplayLaunch) {
        let replay = try ReplayLaunch(directory: directory, kernel: kernel)
        let session = Session(registry: FaultCommands.makeRegistry())
        session.runTimeout = 60
        session.willEnd.append { _ in replay.stop() }
        try session.attachLaunched(replay.qemu, elf: kernel)
        session.replayInjections = replay.injections
        session.refreshReplayPosition(direction: .forward)
        return (session, replay)
    }

    /// Runs `line`; a failed command fails the test with its error line.
    @discardableResult
    static func run(_ session: Session, _ line: String) throws -> CommandOutput {
        let result = session.execute(line: line)
        switch result.outcome {
        case .success(let output): return output
        case .failure(let error): throw Failure(description: "`\(line)`: \(error)")
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func field(_ json: JSONValue, _ name: String) -> JSONValue? {
        guard case .object(let fields) = json else { return nil }
        return fields.first { $0.0 == name }?.1
    }

    static func text(_ json: JSONValue?) -> String? {
        if case .string(let s)? = json { return s }
        return nil
    }

    static let coreRegisters = (0...30).map { "x\($0)" } + ["sp", "pc", "cpsr"]

    @Test func recordTheTestRunReplayItAndGoBackwards() throws {
        let kernel = try Tools.kernelImage()
        let scratch = Scratch()
        let (directory, recorded) = try Self.record("# the kernel's own [TEST] run\nstatus\n", name: "boot", kernel: kernel, into: scratch)
        #expect(recorded.passed, "\(recorded.failure ?? "")")
        let manifest = try Recording.manifest(of: directory)
        #expect(manifest.image == (try ImageIdentity.of(path: kernel)))
        #expect(manifest.qemuVersion.contains("QEMU emulator version"))
        #expect(manifest.qemuArguments.contains { $0.contains("rr=record") })
        #expect(manifest.memory == QEMUConfiguration(kernel: kernel).memory)
        let transcript = try String(contentsOfFile: (directory as NSString).appendingPathComponent(manifest.transcript), encoding: .utf8)
        #expect(transcript.contains("[TEST] brk ok") && transcript.contains("[BOOT] power off"))

        // Another image is refused with one line, before QEMU starts.
        let other = ((kernel as NSString).deletingLastPathComponent as NSString).appendingPathComponent("user/Init.elf")
        #expect(throws: RecordingError.self) { _ = try ReplayLaunch(directory: directory, kernel: other) }
        do { _ = try ReplayLaunch(directory: directory, kernel: other) } catch {
            #expect(error.description.hasPrefix("replay refused:") && !error.description.contains("\n"), "\(error)")
        }

        // Forward to the end: the replay prints the recorded transcript byte for byte. (Reverse
        // execution reloads a snapshot and replays forward, printing again: hence a replay of its own.)
        do {
            let (forward, replay) = try Self.replaySession(directory, kernel: kernel)
            defer { forward.end() }
            let end = try forward.runControl.continueToStop(timeout: 120)
            #expect(end.event == .exited, "\(end.text)")
            _ = try? replay.qemu.waitForExit(timeout: 30)
            #expect(ScenarioRunner.guestOutput(replay.qemu.outputText) == transcript)
        }

        let (session, _) = try Self.replaySession(directory, kernel: kernel)
        defer { session.end() }
        #expect(session.replayPosition == ReplayPosition(instructionCount: 0, direction: .forward))
        // At the start there is nothing behind: the stop says so and nothing moved.
        let atStart = try session.runControl.reverseStepInstructions(1)
        #expect(atStart.event == .recordingBoundary)
        #expect(atStart.position == 0)

        // init's second brk call grows the heap: sys_brk stores mm.brk.
        try Self.run(session, "break sys_brk")
        try Self.run(session, "continue --timeout 60")
        try Self.run(session, "continue --timeout 60")
        let target = try #require(session.target)
        let before = try target.readRegisters(Self.coreRegisters)
        let position = try #require(session.replayPosition?.instructionCount)
        let back = try session.runControl.reverseStepInstructions(3)
        #expect(back.direction == .reverse && back.position == position - 3, "\(back.text)")
        #expect(session.promptText.contains("@icount \(position - 3) reverse"), "\(session.promptText)")
        _ = try session.runControl.stepInstructions(3)
        #expect(try target.readRegisters(Self.coreRegisters) == before)
        #expect(session.replayPosition?.instructionCount == position)

        // mm.brk of the task running the brk test (a child of init): its address from the kernel views,
        // the field offsets from KernelABI.
        let pid = try #require(try session.kernelViews.currentTaskID())
        let task = try Self.run(session, "task \(pid)")
        let taskAddress = try #require(Self.text(Self.field(task.json, "address")).flatMap { UInt64($0.dropFirst(2), radix: 16) })
        let brk = taskAddress + UInt64(KernelLayout.host.offsetofTaskMM) + UInt64(KernelLayout.host.offsetofMMBrk)
        try Self.run(session, "delete")
        try Self.run(session, "finish --timeout 60")
        let answer = try session.lastWrite(address: brk, length: 8, timeout: 60)
        #expect(answer.found)
        #expect(answer.function?.hasPrefix("sys_brk") == true, "\(answer.text)")
        #expect(answer.oldValue.map { $0.littleEndianUInt64(at: 0) } == 0x1000_0000)  // MM_HEAP_BASE, the first break
        #expect(answer.task == pid)
        #expect(answer.newValue.littleEndianUInt64(at: 0) == 0x1000_0000 + 2 * 4096)
        #expect(try target.readRegisters(["pc"]) == [answer.pc!], "the target stays at the writer")
        let pcSymbol = session.symbols?.symbolicate(answer.pc!)?.name
        #expect(pcSymbol == "sys_brk")

    }

    @Test func pteHistoryShowsTheStalePTEOfTheNoPTEClearMutant() throws {
        _ = try Tools.kernelImage()
        let mutant = try MutantKernel.build("MUTANT_NO_PTE_CLEAR")
        defer { mutant.remove() }
        let scratch = Scratch()
        let (directory, _) = try Self.record("#! append tests=brk\nstatus\n", name: "brk", kernel: mutant.elf, into: scratch)
        let (session, _) = try Self.replaySession(directory, kernel: mutant.elf)
        defer { session.end() }
        // Stop at the regrow (the second brk(base + 2 pages)): grow, touch, shrink are behind.
        try Self.run(session, "break sys_brk")
        var grows = 0
        for _ in 0..<20 where grows < 2 {
            try Self.run(session, "continue --timeout 60")
            if try session.registerValue("x0") == 0x1000_0000 + 2 * 4096 { grows += 1 }
        }
        try #require(grows == 2, "the brk test never regrew its heap")
        try Self.run(session, "delete")
        let pid = try #require(try session.kernelViews.currentTaskID())  // the brk test runs in a child of init
        let position = session.replayPosition?.instructionCount
        let history = try session.pteHistory(address: 0x1000_1000, pid: pid, timeout: 120)
        #expect(session.replayPosition?.instructionCount == position, "pte-history returns to where it started")
        let leafChanges = history.changes.filter { $0.level == 3 }
        // The heap page was mapped once (its first store) and never cleared by the shrink: the PTE is stale.
        #expect(leafChanges.count == 1, "\(history.table)")
        let first = try #require(leafChanges.first)
        #expect(first.oldValue == 0 && first.newValue & 1 == 1)
        #expect(history.finalWalk.last?.descriptor.raw == first.newValue)
        #expect(first.function != nil)
    }

    /// `oom-pud` recorded with two `expect last-write` lines after the rollback: the right writer
    /// (free_page, which gives back the pages the failed fork took) and a wrong one. The runner
    /// checks both on a replay of the recording; the recording then replays with the injection
    /// re-applied (the same transcript), and reverse execution stops at the injection.
    @Test func oomPudReplaysWithItsInjectionAndReverseStopsThere() throws {
        let kernel = try Tools.kernelImage()
        let scratch = Scratch()
        let file = ScenarioFixtures.repositoryRoot.appendingPathComponent("scenarios/oom-pud.mmdbg").path
        var lines = try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\n")
        let finish = try #require(lines.firstIndex { $0.hasPrefix("go --finish") })
        // mm_pool.free_pages (kernel_abi.h struct mm_page_pool: the third word).
        lines.insert(contentsOf: ["expect last-write mm_pool+16 in free_page", "expect last-write mm_pool+16 in get_free_page"],
                     at: finish + 1)
        let (directory, recorded) = try Self.record(lines.joined(separator: "\n"), name: "oom-pud", kernel: kernel, into: scratch)
        // Every other line passed; the wrong writer fails with one line naming the real one.
        let failure = try #require(recorded.failure)
        #expect(failure.contains("`expect last-write mm_pool+16 in get_free_page`")
            && failure.contains("was in free_page") && !failure.contains("\n"), "\(failure)")
        #expect(recorded.lines.allSatisfy { $0.succeeded }, "\(failure)")
        let manifest = try Recording.manifest(of: directory)
        let hit = try #require(recorded.trace.hits.first)
        #expect(recorded.trace.hits.count == 1)
        let icount = try #require(hit.icount)
        #expect(hit.writes?.contains(.register("x0", 0)) == true, "\(hit.writes ?? [])")
        let transcript = try String(contentsOfFile: (directory as NSString).appendingPathComponent(manifest.transcript), encoding: .utf8)
        #expect(transcript.contains("[TEST] fork FAIL (exit 2)"))

        // Forward to the end: the replay re-applies the firing and prints the recorded transcript.
        do {
            let (forward, replay) = try Self.replaySession(directory, kernel: kernel)
            defer { forward.end() }
            #expect(replay.injections.map(\.icount) == [icount])
            let end = try forward.runControl.continueToStop(timeout: 120)
            #expect(end.event == .exited, "\(end.text)")
            _ = try? replay.qemu.waitForExit(timeout: 30)
            #expect(ScenarioRunner.guestOutput(replay.qemu.outputText) == transcript)
        }

        let (session, replay) = try Self.replaySession(directory, kernel: kernel)
        defer { session.end() }
        let injection = try #require(replay.injections.first)
        let returnTo = try #require(injection.writes.first { $0.register == "pc" }?.value)
        // To the firing (re-applied), then on to the rollback's first free_page and out of it.
        try session.seekReplay(to: icount, timeout: 60)
        #expect(try session.registerValue("x0") == 0 && session.registerValue("pc") == returnTo)
        try Self.run(session, "break free_page")
        try Self.run(session, "continue --timeout 60")
        try Self.run(session, "delete")
        try Self.run(session, "finish --timeout 60")
        let position = try #require(session.replayPosition?.instructionCount)
        #expect(position > icount)
        // At a prompt on the replay the expectation runs at once and leaves the target where it was.
        let checked = try Self.run(session, "expect last-write mm_pool+16 in free_page")
        #expect(Self.text(Self.field(checked.json, "writer"))?.hasPrefix("free_page") == true, "\(checked.json)")
        #expect(session.replayPosition?.instructionCount == position)
        // Nothing stops reverse-continue before the firing: it stops at the injection, says so, and the
        // state there is the one after the debugger's writes (x0 = 0, back in map_table).
        let back = try session.runControl.reverseContinue(timeout: 60)
        #expect(back.event == .injection && back.position == icount && back.injection == 1, "\(back.text)")
        #expect(back.text.contains("injection #1") && back.text.contains("does not cross"), "\(back.text)")
        #expect(try session.registerValue("x0") == 0 && session.registerValue("pc") == returnTo)
        // At the injection a reverse step would cross it: it stops without moving.
        let step = try session.runControl.reverseStepInstructions(1)
        #expect(step.event == .injection && step.steps == 0 && step.position == icount, "\(step.text)")
        let json = try Self.run(session, "reverse-stepi").json
        #expect(Self.text(Self.field(json, "event")) == "injection")
    }
}
