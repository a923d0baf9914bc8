@testable import FaultInjection
import Foundation
import Testing

/// The campaign's pure parts: which runs, which shard, merging, judging, reports. No QEMU.
@Suite("Sweep logic: plan, shards, merge, oracles, reports")
struct SweepLogicTests {
    /// Twelve hits of get_free_page from three call paths of two tasks.
    static let points: [SweepPoint] = (1...12).map { hit in
        SweepPoint(site: "get_free_page", hit: hit, pid: hit <= 6 ? 2 : 3, caller: 0xFFFF_0000_4020_0000 + UInt64(hit % 3) * 0x40,
                   callerSymbol: ["map_table+0x20", "allocate_user_page+0x10", "copy_process+0x8"][hit % 3], grandCaller: 0x1000)
    }

    static func golden(_ points: [SweepPoint] = points) -> SweepGolden {
        SweepGolden(kernel: "k.elf", image: "build-id:ab", append: "tests=fork", icountShift: 4, scenarioLines: [], scenarioPath: nil,
                    sites: ["get_free_page"], pid: 2, action: "return=0", points: points, freePages: 30_000, killed: 1,
                    transcript: "[BOOT] x\n[KERN] OOM at 0x10\n[TEST] fork ok\n[TASK] init exited with code 0, ticks 3\n", seconds: 1)
    }

    @Test func shardsPartitionTheCampaignAndPruningKeepsOnePerCallPath() {
        var selection = SweepSelection()
        let all = selection.campaign(Self.points)
        #expect(all.map(\.index) == Array(1...12))
        var union: [Int] = []
        for k in 1...5 {
            selection.shard = (k, 5)
            union += selection.shardRuns(all).map(\.index)
        }
        #expect(union.sorted() == all.map(\.index))
        selection.shard = (1, 1)
        selection.prune = true
        let pruned = selection.campaign(Self.points)
        // Per task: (call site, previous call site) = (1,-) (2,1) (0,2) (1,0), then repeats.
        #expect(pruned.map { $0.points[0].hit } == [1, 2, 3, 4, 7, 8, 9, 10])
        selection.prune = false
        selection.depth = 2
        selection.max = nil
        #expect(selection.campaign(Array(Self.points.prefix(4))).count == 4 + 6)
        selection.depth = 1
        selection.sample = 5
        selection.seed = 9
        let sampled = selection.campaign(Self.points)
        #expect(sampled.count == 5 && sampled == selection.campaign(Self.points) && Set(sampled.map(\.label)).count == 5)
        #expect(SweepSelection.parseShard("2/3")! == (2, 3))
        #expect(SweepSelection.parseShard("4/3") == nil && SweepSelection.parseShard("0/3") == nil && SweepSelection.parseShard("x") == nil)
    }

    @Test func oraclesRankHangPanicLeakCheckThenKilledAndSoftFailures() {
        let golden = Self.golden()
        func judge(_ powered: Bool = true, free: UInt64 = 30_000, findings: [String] = [], killed: Int = 1,
                   transcript: String? = nil, failure: String? = nil) -> SweepOutcome {
            SweepOracle.judge(SweepObservation(reachedPowerOff: powered, freePages: free, checkFindings: findings, killed: killed,
                                               transcript: transcript ?? golden.transcript, scenarioFailure: failure), golden: golden).0
        }
        #expect(judge() == .ok)
        #expect(judge(transcript: golden.transcript.replacingOccurrences(of: "ticks 3", with: "ticks 4")) == .ok)
        #expect(judge(false) == .hang)
        #expect(judge(transcript: golden.transcript + "[PANIC] free_page: double free of 0x1\n") == .panic)
        #expect(judge(killed: 2) == .panic)  // a task killed with no [KERN] line naming it
        #expect(judge(free: 29_998) == .leak)
        #expect(SweepOracle.judge(SweepObservation(reachedPowerOff: true, freePages: 29_998, checkFindings: [], killed: 1,
                                                   transcript: golden.transcript, scenarioFailure: nil), golden: golden).1 == "2 page(s) leaked")
        #expect(judge(findings: ["mappedAndFree pid 2"]) == .checkFinding)
        #expect(judge(failure: "line 3: expectation failed") == .scenarioFailed)
        #expect(judge(killed: 2, transcript: golden.transcript + "[KERN] OOM at 0x20\n") == .taskKilled)
        #expect(judge(transcript: golden.transcript.replacingOccurrences(of: "fork ok", with: "fork FAIL (exit 2)")) == .softFailed)
        #expect(!SweepOutcome.softFailed.isFinding && !SweepOutcome.taskKilled.isFinding && SweepOutcome.leak.isFinding)
    }

    static func result(_ run: SweepRun, _ outcome: SweepOutcome) -> SweepResult {
        SweepResult(run: run, outcome: outcome, detail: outcome == .leak ? "1 page(s) leaked" : "",
                    signature: SweepOracle.signature(outcome, run.points), seconds: 0.5, reproducer: nil, trace: nil)
    }

    @Test func mergedShardsEqualTheUnshardedReportAndTheReportsAgree() throws {
        let golden = Self.golden()
        var selection = SweepSelection()
        let campaign = selection.campaign(golden.points)
        let outcome: (SweepRun) -> SweepOutcome = { $0.points[0].callerFunction == "map_table" ? .leak : .softFailed }
        let whole = SweepReport(golden: golden, scenario: "--boot", campaignRuns: campaign.count, shard: (1, 1),
                                results: campaign.map { Self.result($0, outcome($0)) })
        var shards: [SweepReport] = []
        for k in [3, 1, 2] {
            selection.shard = (k, 3)
            shards.append(SweepReport(golden: golden, scenario: "--boot", campaignRuns: campaign.count, shard: (k, 3),
                                      results: selection.shardRuns(campaign).map { Self.result($0, outcome($0)) }))
        }
        let merged = try SweepReport.merge(shards)
        #expect(merged.results == whole.results)
        #expect(merged.missingRuns.isEmpty)
        #expect(try SweepReport.merge(Array(shards.prefix(2))).missingRuns.count == 4)
        var other = shards[0]
        other.image = "build-id:cd"
        #expect(throws: SweepReport.MergeError.self) { try SweepReport.merge([shards[1], other]) }
        // Groups by signature; JUnit has one case per run, a failure per finding; JSON round-trips.
        #expect(whole.groups.count == 3 && whole.findings.count == 4)
        let junit = whole.junit()
        #expect(junit.components(separatedBy: "<testcase ").count - 1 == 12)
        #expect(junit.components(separatedBy: "<failure ").count - 1 == 4)
        #expect(try JSONDecoder().decode(SweepReport.self, from: Data(whole.json().utf8)) == whole)
        #expect(whole.table().contains("4 × leak get_free_page<-map_table"))
    }

    @Test func runLinesAndReproducersNameExactlyOneInjectionAndTheOracles() {
        let golden = Self.golden()
        let run = SweepRun(index: 7, points: [Self.points[2]])
        let lines = SweepRunner.lines(for: run, golden: golden, deadline: 20)
        #expect(lines == ["inject get_free_page --pid 2 --nth 3 --return 0", "go mm_psci_system_off --timeout 20"])
        let text = SweepRunner.reproducer(for: run, golden: golden, deadline: 20, outcome: .leak, detail: "1 page(s) leaked")
        #expect(text.contains("#! append tests=fork\n") && text.contains("expect free-pages 30000\n"))
        #expect(text.components(separatedBy: "\ninject ").count == 2)
        #expect(SweepSpec.injectOptions("return=0") == "--return 0" && SweepSpec.injectOptions("skip") == "--skip")
        #expect(SweepSpec.injectOptions("explode") == nil)
        let plan = SweepPlanFile(golden: golden, scenario: "--boot", deadline: 20, runs: [run])
        #expect(plan.lines(planPath: "p/plan.json", outDirectory: "p/results")
            == ["mmdbg sweep --run-one 7 --plan-file p/plan.json --out p/results/run-0007"])
    }
}
