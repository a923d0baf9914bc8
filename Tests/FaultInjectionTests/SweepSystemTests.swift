import FaultInjection
import Foundation
import QEMULauncher
import Testing
import TestSupport

/// `mmdbg sweep` on the real kernel under the real QEMU: the fork test's get_free_page hits.
/// Serialized: each campaign already runs two QEMUs at once (the 2-core budget).
@Suite("Sweep campaigns under QEMU: normal kernel, mutant, shards, hangs", .serialized)
struct SweepSystemTests {
    static func forkSpec(deadline: Double = 30) -> SweepSpec {
        var spec = SweepSpec(scenario: SweepSpec.boot(append: "tests=fork"), isBoot: true, sites: ["get_free_page"])
        spec.pid = 2
        spec.deadline = deadline
        return spec
    }

    static func scratch(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-sweep-\(name)-\(UUID().uuidString.prefix(8))").path
    }

    /// Files of this process's QEMUs and snapshots that could be left behind.
    static func leftovers() -> [String] {
        // Other suites of this process launch QEMUs meanwhile: their RAM files exist by name
        // for a moment, so only what outlives a launch counts.
        SharedRAMFiles.lingering(within: 30) {
            let tmp = (try? FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path)) ?? []
            return SharedRAMFiles.left(byHost: getpid()) + tmp.filter { $0.hasPrefix("mmdbg-sweep-\(getpid())-") }
        }
    }

    /// Normal kernel: a sample of the fork test's hits, restored from snapshots, every run
    /// accounted for and none a leak, hang or panic; the shards of the same campaign, each
    /// with its own golden run and booting per run, merge into the same results run for run.
    @Test func theNormalKernelSurvivesEveryFailedAllocationOfForkAndShardsMergeRunForRun() throws {
        let kernel = try Tools.kernelImage()
        _ = try Tools.require("qemu-img", package: "qemu-utils")
        let runner = SweepRunner(kernel: kernel)
        let golden = try runner.golden(Self.forkSpec())
        #expect(golden.points.count >= 5, "the fork test allocates pages: \(golden.points.count) hits")
        #expect(golden.points.allSatisfy { $0.pid == 2 && $0.callerSymbol != nil })
        #expect(golden.points.map(\.hit) == Array(1...golden.points.count))
        var selection = SweepSelection()
        selection.sample = 6
        selection.seed = 17
        let campaign = selection.campaign(golden.points)
        let findings = Self.scratch("findings")
        defer { try? FileManager.default.removeItem(atPath: findings) }
        let results = runner.execute(campaign, golden: golden, deadline: 30, jobs: 2, snapshots: true, findingsDirectory: findings)
        #expect(results.map(\.run) == campaign)
        #expect(results.allSatisfy { $0.method == "snapshot" }, "\(results.map { $0.method ?? "?" })")
        for result in results {
            #expect(!result.outcome.isFinding, "run \(result.run.label): \(result.outcome.rawValue) \(result.detail)")
            #expect([.ok, .softFailed, .taskKilled].contains(result.outcome))
        }
        // Failing an allocation the fork test makes is visible: at least one run is not `ok`.
        #expect(results.contains { $0.outcome != .ok }, "\(results.map(\.outcome.rawValue))")

        var shards: [SweepReport] = []
        for k in 1...3 {
            var shard = selection
            shard.shard = (k, 3)
            let shardGolden = try runner.golden(Self.forkSpec())
            #expect(shardGolden.points == golden.points)
            let mine = shard.shardRuns(shard.campaign(shardGolden.points))
            shards.append(SweepReport(golden: shardGolden, scenario: "--boot", campaignRuns: campaign.count, shard: (k, 3),
                                      results: runner.execute(mine, golden: shardGolden, deadline: 30, jobs: 2, findingsDirectory: findings)))
        }
        let merged = try SweepReport.merge(shards)
        #expect(merged.missingRuns.isEmpty)
        #expect(merged.results.map(\.run) == results.map(\.run))
        #expect(merged.results.map(\.outcome) == results.map(\.outcome), "snapshot restore and boot-per-run disagree")
        #expect(merged.results.map(\.detail) == results.map(\.detail))
        #expect(Self.leftovers().isEmpty, "\(Self.leftovers())")
    }

    /// MUTANT_NO_ROLLBACK: with no expectation written by hand, the page-table allocations leak
    /// (the pool-balance oracle: a failed map_page keeps the tables it took before the failing
    /// one), exactly those that follow another table allocation of the same map_page call; their
    /// reproducers fail again under `mmdbg run` and replay byte for byte; pruning keeps every
    /// finding's signature.
    @Test func theNoRollbackMutantLeaksAtExactlyThePageTableAllocations() throws {
        _ = try Tools.kernelImage()
        _ = try Tools.require("qemu-img", package: "qemu-utils")
        let mutant = try MutantKernel.build("MUTANT_NO_ROLLBACK")
        defer { mutant.remove() }
        let runner = SweepRunner(kernel: mutant.elf)
        let golden = try runner.golden(Self.forkSpec())
        let tables = golden.points.filter { $0.callerFunction == "map_table" }
        let others = golden.points.filter { $0.callerFunction != "map_table" }
        #expect(!tables.isEmpty && !others.isEmpty, "\(golden.points.map(\.callerFunction))")
        // Every page-table hit, and a seeded sample of the rest.
        var sampler = SweepSelection()
        sampler.sample = 3
        sampler.seed = 5
        let chosen = (tables + sampler.campaign(others).flatMap(\.points)).sorted { $0.hit < $1.hit }
        let campaign = chosen.enumerated().map { SweepRun(index: $0.offset + 1, points: [$0.element]) }
        let findings = Self.scratch("mutant")
        defer { try? FileManager.default.removeItem(atPath: findings) }
        let results = runner.execute(campaign, golden: golden, deadline: 30, jobs: 2, snapshots: true, findingsDirectory: findings)
        let callers = Dictionary(uniqueKeysWithValues: golden.points.map { ($0.hit, $0.callerFunction) })
        for result in results {
            let hit = result.run.points[0].hit
            // A table allocation after another one (the pgd in map_page, or a table in map_table) of the same call.
            let afterATable = callers[hit] == "map_table" && ["map_table", "map_page"].contains(callers[hit - 1] ?? "")
            #expect((result.outcome == .leak) == afterATable,
                    "hit \(hit) from \(callers[hit] ?? "?") after \(callers[hit - 1] ?? "-"): \(result.outcome.rawValue) \(result.detail)")
        }
        #expect(results.contains { $0.outcome == .leak })
        // Pruning the whole golden list keeps every signature the full list found.
        var pruning = SweepSelection()
        pruning.prune = true
        let kept = Set(pruning.pruned(golden.points).map(\.hit))
        #expect(kept.count < golden.points.count)
        let all = Set(results.filter { $0.outcome.isFinding }.map(\.signature))
        let afterPruning = Set(results.filter { $0.outcome.isFinding && kept.contains($0.run.points[0].hit) }.map(\.signature))
        #expect(!all.isEmpty && afterPruning == all)

        // A saved reproducer fails again under `mmdbg run`, on the leak, and its trace replays byte for byte.
        let leak = try #require(results.first { $0.outcome == .leak })
        let file = try #require(leak.reproducer)
        let rerun = ScenarioRunner(kernel: mutant.elf).run(try Scenario(contentsOf: file))
        #expect(!rerun.passed)
        #expect(rerun.failure?.contains("expect free-pages baseline") == true, "\(rerun.failure ?? "")")
        let trace = try FaultTrace.read(from: try #require(leak.trace))
        let replay = try TraceReplay(kernel: mutant.elf).replay(trace)
        #expect(replay.identical, "\(replay.firstDifference?.description ?? "")")
        #expect(Self.leftovers().isEmpty, "\(Self.leftovers())")
    }

    /// A run that cannot power off within its deadline is a hang: reported, its QEMU killed, nothing left behind.
    @Test func aHangingRunIsKilledAtItsDeadlineAndReported() throws {
        let kernel = try Tools.kernelImage()
        let runner = SweepRunner(kernel: kernel)
        let golden = try runner.golden(Self.forkSpec())
        let run = SweepRun(index: 1, points: [golden.points[0]])
        let started = Date()
        // 50 ms is far less than booting to the fork test takes: the run is cut at its deadline.
        let result = runner.execute([run], golden: golden, deadline: 0.05, jobs: 1, findingsDirectory: nil)[0]
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(result.outcome == .hang, "\(result.outcome.rawValue) \(result.detail)")
        let pid = try #require(result.qemuPID)
        #expect(HostProcess.eventually(within: 5) { !HostProcess.isAlive(pid) }, "QEMU \(pid) outlived its hung run")
        #expect(Self.leftovers().isEmpty, "\(Self.leftovers())")
    }
}
