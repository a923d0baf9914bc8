import ArgumentParser
import FaultInjection
import Foundation

/// `mmdbg sweep`: a fault campaign. A golden run counts every hit of the sites, then one run
/// per hit fails exactly that hit; universal oracles judge each run; findings become reproducers.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Fail every hit of a function in turn and judge each run with universal oracles (exit status = findings, max 125).",
        discussion: """
        A golden run (no fault) counts every entry of each --site (task, caller); then each run fails exactly one \
        hit (--depth 2: a pair) with --action, like `inject SITE --nth N`. Every run is judged without hand-written \
        expectations: it must power off within --deadline, print no [PANIC], name every killed task with a [KERN] \
        marker, end with the golden run's free-page count and a clean `check`, and every failed call of a --balanced \
        function must give back the pages it took; the scenario's own expectations still apply. Outcomes: ok, soft-failed, task-killed, leak, hang, panic, check-finding, scenario-failed. Each finding \
        is saved as OUT/findings/NNNN-SITE-HIT.mmdbg (+ .trace.json): `mmdbg run` fails on it again, `mmdbg replay` \
        reproduces its transcript byte for byte. A --boot campaign restores a QEMU snapshot (savevm at the site's first \
        hit, in a scratch qcow2 drive) per run instead of booting; --boot-per-run turns that off.

        Examples:
          mmdbg sweep --boot --append tests=fork --pid 2 --junit sweep.xml
          mmdbg sweep scenarios/fork-oom.mmdbg --max 10 --jobs 2 --json
          mmdbg sweep --boot --append tests=fork --shard 2/3 --out shard2
          mmdbg sweep --merge shard1 shard2 shard3
          mmdbg sweep --boot --append tests=fork --plan plan | parallel
        """
    )

    @Argument(help: ArgumentHelp("The base scenario (.mmdbg); or --boot.", valueName: "SCENARIO"))
    var scenarioPath: String?

    @Flag(name: .customLong("boot"), help: "Sweep a plain boot (with --append) instead of a scenario.")
    var boot = false

    @Option(name: .customLong("append"), help: ArgumentHelp("Kernel command line for --boot (e.g. tests=fork).", valueName: "ARGS"))
    var append: String?

    @Option(name: .customLong("site"), help: ArgumentHelp("Function whose entries are swept (repeatable; default get_free_page).", valueName: "SYMBOL"))
    var sites: [String] = []

    @Option(name: .customLong("action"), help: ArgumentHelp("What a failed hit does: return=V, set=REG=V,…, write=ADDR=V, skip.", valueName: "ACTION"))
    var action = "return=0"

    @Option(name: .customLong("pid"), help: ArgumentHelp("Only hits while this task runs.", valueName: "P"))
    var pid: Int64?

    @Option(name: .customLong("max"), help: ArgumentHelp("At most N runs (the first N).", valueName: "N"))
    var max: Int?

    @Option(name: .customLong("sample"), help: ArgumentHelp("K runs drawn with --seed.", valueName: "K"))
    var sample: Int?

    @Option(name: .customLong("seed"), help: ArgumentHelp("Seed for --sample.", valueName: "S"))
    var seed: UInt64 = 0

    @Option(name: .customLong("depth"), help: ArgumentHelp("1: one hit per run; 2: pairs of hits as well.", valueName: "1|2"))
    var depth = 1

    @Flag(name: .customLong("prune"), help: "One run per (site, task, call site, caller's return address, the previous hit's call site): hits assumed not to differ.")
    var prune = false

    @Option(name: .customLong("balanced"), help: ArgumentHelp("A function whose failed call (x0 as int32 = -1, or x0 = 0) must leave the page pool as it found it (repeatable; default map_page:-1 allocate_user_page:0).", valueName: "FUNC:-1|FUNC:0"))
    var balanced: [String] = []

    @Flag(name: .customLong("boot-per-run"), help: "Boot a fresh QEMU for every run instead of restoring a snapshot (--boot campaigns restore by default).")
    var bootPerRun = false

    @Option(name: .customLong("jobs"), help: ArgumentHelp("Runs at once (default: the core count).", valueName: "N"))
    var jobs: Int?

    @Option(name: .customLong("shard"), help: ArgumentHelp("Run only shard K of N (every Nth run of the campaign).", valueName: "K/N"))
    var shard: String?

    @Option(name: .customLong("deadline"), help: ArgumentHelp("Seconds a run has to power off.", valueName: "S"))
    var deadline: Double = 60

    @Option(name: .customLong("out"), help: ArgumentHelp("Result directory: sweep.json, findings/.", valueName: "DIR"))
    var out = "sweep-out"

    @Option(name: .customLong("plan"), help: ArgumentHelp("Golden run only: write DIR/plan.json and print one shell line per run.", valueName: "DIR"))
    var plan: String?

    @Option(name: .customLong("run-one"), help: ArgumentHelp("Run campaign run N of --plan-file.", valueName: "N"))
    var runOne: Int?

    @Option(name: .customLong("plan-file"), help: ArgumentHelp("plan.json written by --plan.", valueName: "FILE"))
    var planFile: String?

    @Option(name: .customLong("merge"), parsing: .upToNextOption, help: ArgumentHelp("Combine result directories (shards, --run-one outputs) into one report.", valueName: "DIR"))
    var merge: [String] = []

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Kernel ELF (default: .build-kernel/kernel.elf, built if missing).", valueName: "FILE"))
    var kernel: String?

    @Flag(name: .customLong("json"), help: "Print the report as JSON instead of the table.")
    var json = false

    @Option(name: .customLong("junit"), help: ArgumentHelp("Write JUnit XML (one test case per run) to FILE.", valueName: "FILE"))
    var junit: String?

    func validate() throws {
        if !merge.isEmpty || runOne != nil {
            if runOne != nil && planFile == nil { throw ValidationError("--run-one needs --plan-file") }
            return
        }
        if boot == (scenarioPath != nil) { throw ValidationError("give a SCENARIO or --boot (one of them)") }
        if append != nil && !boot { throw ValidationError("--append is for --boot (a scenario has its own #! append)") }
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs must be 1…64") }
        if let max, max < 1 { throw ValidationError("--max must be at least 1") }
        if let sample, sample < 1 { throw ValidationError("--sample must be at least 1") }
        if !(1...2).contains(depth) { throw ValidationError("--depth must be 1 or 2") }
        if let shard, SweepSelection.parseShard(shard) == nil { throw ValidationError("--shard wants K/N with 1 ≤ K ≤ N") }
        if !(deadline > 0 && deadline <= 3600) { throw ValidationError("--deadline must be in (0, 3600] seconds") }
        if let bad = balanced.first(where: { !SweepRunner.isValidContract($0) }) {
            throw ValidationError("--balanced wants FUNC:-1 or FUNC:0, not \(bad)")
        }
        if SweepSpec.injectOptions(action) == nil { throw ValidationError("--action wants return=V, set=REG=V,…, write=ADDR=V or skip") }
    }

    func fail(_ message: String, _ status: ExitStatus = .usage) -> ProcessExit {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        return ProcessExit(status: status)
    }

    func run() throws {
        if !merge.isEmpty {
            var reports: [SweepReport] = []
            for directory in merge {
                do { reports.append(try SweepReport.read(directory: directory)) } catch { throw fail(error.description) }
            }
            do { try finish(try SweepReport.merge(reports), writeTo: nil) } catch let error as SweepReport.MergeError {
                throw fail(error.description)
            }
            return
        }
        if let runOne, let planFile {
            let plan: SweepPlanFile
            do { plan = try SweepPlanFile.read(planFile) } catch { throw fail(error.description) }
            guard let run = plan.runs.first(where: { $0.index == runOne }) else {
                throw fail("--run-one \(runOne): the plan has runs 1…\(plan.runs.count)")
            }
            let result = SweepRunner(kernel: kernel ?? plan.golden.kernel).execute(
                run, golden: plan.golden, deadline: plan.deadline, findingsDirectory: (out as NSString).appendingPathComponent("findings"))
            var report = SweepReport(golden: plan.golden, scenario: plan.scenario, campaignRuns: plan.runs.count, shard: (1, 1), results: [result])
            report.shards = ["run \(runOne)"]
            try finish(report, writeTo: out)
            return
        }
        let kernelPath = try KernelBuilder.ensureKernel(explicit: kernel) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var spec: SweepSpec
        if boot {
            spec = SweepSpec(scenario: SweepSpec.boot(append: append), isBoot: true, sites: sites.isEmpty ? ["get_free_page"] : sites)
        } else {
            do { spec = SweepSpec(scenario: try Scenario(contentsOf: scenarioPath!), isBoot: false, sites: sites.isEmpty ? ["get_free_page"] : sites) } catch {
                throw fail(error.description)
            }
        }
        spec.pid = pid
        spec.action = action
        spec.deadline = deadline
        if !balanced.isEmpty { spec.balanced = balanced }
        var selection = SweepSelection()
        selection.depth = depth
        selection.prune = prune
        selection.max = max
        selection.sample = sample
        selection.seed = seed
        if let shard, let parsed = SweepSelection.parseShard(shard) { selection.shard = parsed }

        let runner = SweepRunner(kernel: kernelPath)
        progress("sweep: golden run of \(boot ? "the boot" : spec.scenario.name) counting \(spec.sites.joined(separator: ", "))…")
        let golden: SweepGolden
        do { golden = try runner.golden(spec) } catch { throw fail(error.description, .commandFailed) }
        let campaign = selection.campaign(golden.points)
        progress("sweep: golden run \(String(format: "%.1f", golden.seconds)) s, \(golden.points.count) hit(s), \(golden.freePages) free pages at power-off; \(campaign.count) run(s) in the campaign")
        let scenarioName = boot ? "--boot" + (append.map { " --append \($0)" } ?? "") : spec.scenario.path
        if let plan {
            let planFile = SweepPlanFile(golden: golden, scenario: scenarioName, deadline: deadline, runs: campaign)
            do { try planFile.write(toDirectory: plan) } catch { throw fail(error.description, .commandFailed) }
            let planPath = (plan as NSString).appendingPathComponent(SweepPlanFile.fileName)
            // The lines call this mmdbg as it was invoked (`.build/debug/mmdbg` from the checkout, or `mmdbg` on PATH).
            for line in planFile.lines(planPath: planPath, outDirectory: (plan as NSString).appendingPathComponent("results"),
                                       mmdbg: CommandLine.arguments[0]) { print(line) }
            return
        }
        let mine = selection.shardRuns(campaign)
        let results = runner.execute(mine, golden: golden, deadline: deadline,
                                     jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, snapshots: !bootPerRun,
                                     findingsDirectory: (out as NSString).appendingPathComponent("findings")) { progress($0.line) }
        try finish(SweepReport(golden: golden, scenario: scenarioName, campaignRuns: campaign.count, shard: selection.shard, results: results),
                   writeTo: out)
    }

    func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    func finish(_ report: SweepReport, writeTo directory: String?) throws {
        if let directory {
            do { try report.write(toDirectory: directory) } catch { FileHandle.standardError.write(Data("error: \(error)\n".utf8)) }
        }
        if let junit {
            do { try report.junit().write(toFile: junit, atomically: true, encoding: .utf8) } catch {
                FileHandle.standardError.write(Data("error: cannot write \(junit): \(error.localizedDescription)\n".utf8))
            }
        }
        print(json ? report.json() : report.table())
        Foundation.exit(Int32(Swift.min(report.findings.count, 125)))
    }
}
