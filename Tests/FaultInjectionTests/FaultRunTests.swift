import FaultInjection
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Inspect
import QEMULauncher
import Testing
import TestSupport

/// The scenario library, determinism, replay and the mutation check, all
/// against the real kernel under the real QEMU. Serialized: each test
/// already runs two QEMUs at once (the 2-core budget).
@Suite("Fault injection under QEMU: library, determinism, replay, mutants", .serialized)
struct FaultRunSystemTests {
    @Test func theWholeScenarioLibraryPassesOnTheRealKernel() throws {
        let kernel = try Tools.kernelImage()
        let scenarios = try ScenarioFixtures.libraryPaths().map { try Scenario(contentsOf: $0) }
        #expect(scenarios.count >= 15)
        let results = ScenarioRunner(kernel: kernel).run(scenarios, parallelism: 2)
        for result in results where !result.passed {
            Issue.record("\(result.scenario.name): \(result.failure ?? "?")\n\(RunReport.table([result]))")
        }
        #expect(RunReport.exitStatus(results) == 0)
        // Every scenario that injects recorded its firings, with task and PC.
        let injecting = results.filter { $0.scenario.lines.contains { $0.text.hasPrefix("inject ") } }
        for result in injecting {
            #expect(!result.trace.hits.isEmpty, "\(result.scenario.name) fired nothing")
            #expect(result.trace.hits.allSatisfy { $0.pc >= 0xFFFF_0000_0000_0000 })
        }
        // The reports are well formed and agree with the results.
        let junit = RunReport.junit(results)
        let document = try XMLDocument(xmlString: junit)
        #expect(try document.nodes(forXPath: "/testsuite/testcase").count == results.count)
        #expect(try document.nodes(forXPath: "/testsuite/testcase/failure").isEmpty)
        let json = RunReport.json(results).serialized()
        #expect(json.contains("\"failed\":0"))
    }

    /// With the timer tick running (no scenario freezes it any more): fork-oom
    /// fires with a seeded probability; preempt-tick fires on the tick itself
    /// (its preemption check, several times), so guest time must not move
    /// between runs for its hits and `ticks N` to repeat (fork-oom is over
    /// before the first tick; preempt-tick spins through more than ten). fork-oom again on two
    /// CPUs (`#! smp 2`): under -icount QEMU runs them round robin on one thread, so the runs and
    /// the replay (the trace keeps `smp`) stay byte-identical.
    @Test(arguments: [("fork-oom", 0, 1), ("preempt-tick", 10, 1), ("fork-oom", 0, 2)])
    func fiveRunsWithTheSameSeedGiveIdenticalTranscriptsAndTheTraceReplays(name: String, minimumTicks: Int, smp: Int) throws {
        let kernel = try Tools.kernelImage()
        var scenario = try ScenarioFixtures.scenario(name)
        scenario.smp = smp
        let runner = ScenarioRunner(kernel: kernel)
        let results = runner.run(Array(repeating: scenario, count: 5), parallelism: 1)
        let first = results[0]
        #expect(first.passed, "\(first.failure ?? "")")
        #expect(first.trace.transcript.contains("[BOOT] power off"))
        #expect(!first.trace.hits.isEmpty)
        if smp > 1 {
            // The secondary CPU really ran (the boot CPU prints how many started).
            #expect(first.trace.transcript.contains("[BOOT] cpus:"), "\(first.lastLogLines(5))")
            #expect(first.trace.smp == smp)
        }
        // The kernel's last line counts the ticks that ran.
        let ticks = first.trace.transcript.firstMatch(of: /ticks (\d+)/).flatMap { Int($0.1) }
        #expect(ticks != nil && ticks! >= minimumTicks, "\(first.lastLogLines(2))")
        for result in results.dropFirst() {
            #expect(TranscriptDifference(expected: first.trace.transcript, actual: result.trace.transcript) == nil)
            #expect(result.trace.hits.map(\.hit) == first.trace.hits.map(\.hit))
            #expect(result.trace.hits.map(\.pc) == first.trace.hits.map(\.pc))
        }

        // The trace survives a file round trip and replays byte for byte.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).trace.json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.trace.write(to: path)
        let loaded = try FaultTrace.read(from: path)
        #expect(loaded == first.trace)
        let replay = try TraceReplay(kernel: kernel).replay(loaded)
        #expect(replay.identical, "\(replay.firstDifference?.description ?? "")")
        #expect(replay.result.trace.hits.map(\.hit) == first.trace.hits.map(\.hit))

        // Another image is refused, naming both identities.
        var foreign = loaded
        foreign.image = "fnv1a64:0000000000000000"
        #expect(throws: FaultInjectionError.imageMismatch(expected: "fnv1a64:0000000000000000",
                                                          actual: try ImageIdentity.of(path: kernel))) {
            _ = try TraceReplay(kernel: kernel).replay(foreign)
        }
    }

    @Test func theLibraryCatchesReintroducedKernelBugs() throws {
        _ = try Tools.kernelImage()
        let noRollback = try MutantKernel.build("MUTANT_NO_ROLLBACK")
        defer { noRollback.remove() }
        let rollbackScenarios = try ["oom-pud", "oom-pmd", "oom-pte"].map(ScenarioFixtures.scenario)
        let rollbackResults = ScenarioRunner(kernel: noRollback.elf).run(rollbackScenarios, parallelism: 2)
        for result in rollbackResults {
            #expect(!result.passed, "\(result.scenario.name) passed on MUTANT_NO_ROLLBACK")
            #expect(result.failure?.contains("expect free-pages baseline") == true, "\(result.failure ?? "")")
        }

        let noPTEClear = try MutantKernel.build("MUTANT_NO_PTE_CLEAR")
        defer { noPTEClear.remove() }
        let brk = ScenarioRunner(kernel: noPTEClear.elf).run(try ScenarioFixtures.scenario("brk-shrink-regrow"))
        #expect(!brk.passed)
        // The stale PTE shows in the kernel's own self-test line and in `check`; either stops the scenario.
        let caught = ["expect absent 'self-test FAILED'", "expect check clean"].contains { brk.failure?.contains($0) == true }
        #expect(caught, "\(brk.failure ?? "")")
    }

    // Triggers and actions the scenario library does not use.

    @Test func aWatchpointOnTheTickCounterFiresAndSkipsTheStore() throws {
        let kernel = try Tools.kernelImage()
        let text = """
        #! append tests=sleep
        inject mm_tick --watch write --len 8 --nth 2 --skip
        go --fired 1
        inject list
        """
        let result = ScenarioRunner(kernel: kernel).run(try Scenario(text: text, path: "watch-tick.mmdbg"))
        #expect(result.passed, "\(result.failure ?? "")")
        let hits = result.trace.hits
        #expect(hits.count == 1)
        #expect(hits.first?.hit == 2)
        #expect(hits.first?.action == "skip")
        // The stop is at the store into mm_tick, inside kernel text, and the skip moved the PC by one instruction.
        if let hit = hits.first {
            #expect(hit.pc >= 0xFFFF_0000_0000_0000)
            #expect(hit.detail == "pc=0x" + String(hit.pc + 4, radix: 16))
        }
        #expect(result.lines.last?.text.contains("watch write mm_tick (8)") == true, "\(result.lines.last?.text ?? "")")
        #expect(result.trace.transcript.contains("[BOOT] power off"))
    }

    @Test func brkAndPTEActionsChangeWhatInspectSees() throws {
        let kernel = try Tools.kernelImage()
        let text = """
        #! append tests=demand
        inject sys_free_pages --pid 2 --nth 1 --brk 2=0x10005000
        go --fired 1
        inject now --pte 2:0x400000:clear-valid
        expect check missingPTE
        task 2
        """
        let result = ScenarioRunner(kernel: kernel).run(try Scenario(text: text, path: "actions.mmdbg"))
        #expect(result.passed, "\(result.failure ?? "")")
        let hits = result.trace.hits
        #expect(hits.count == 2)
        #expect(hits.first?.detail.hasSuffix("→0x10005000") == true, "\(hits.first?.detail ?? "")")
        #expect(hits.first?.pid == 2)
        // clear-valid drops exactly bit 0 of the text page's descriptor.
        let pte = hits.last?.detail.dropFirst("pte ".count).split(separator: "→").map { UInt64($0.dropFirst(2), radix: 16) ?? 0 }
        #expect(pte?.count == 2 && pte![0] & 1 == 1 && pte![1] == pte![0] & ~1)
        #expect(result.lines.last?.text.contains("0x10005000") == true, "\(result.lines.last?.text ?? "")")
    }
}
