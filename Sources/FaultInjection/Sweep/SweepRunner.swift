import Foundation
import Inspect
import MmdbgCore

/// The result of one run of a campaign.
public struct SweepResult: Codable, Sendable, Equatable {
    public var run: SweepRun
    public var outcome: SweepOutcome
    public var detail: String
    public var signature: String
    public var seconds: Double
    /// The saved reproducer (findings only) and its trace.
    public var reproducer: String?
    public var trace: String?
    /// The run's QEMU (killed by the time the result exists); not compared across shards.
    public var qemuPID: Int32?
    /// `snapshot` (restored with loadvm) or `boot` (a fresh QEMU).
    public var method: String?
}

/// What a campaign needs besides the kernel: the base scenario (nil = `--boot`), the
/// sites, the filters and action, and the deadline every run must power off within.
public struct SweepSpec: Sendable {
    public var scenario: Scenario
    public var isBoot: Bool
    public var sites: [String]
    public var pid: Int64?
    /// `return=0`, `set=x0=1`, `skip`.
    public var action = "return=0"
    /// Seconds a run may take to reach power-off.
    public var deadline: Double = 60
    /// Functions whose failed call must leave the pool as it found it, `NAME:-1` (x0 as an int32 is -1)
    /// or `NAME:0` (x0 is 0). The defaults are the kernel's documented ones.
    public var balanced = ["map_page:-1", "allocate_user_page:0"]

    /// `--boot`: no scenario lines, just the boot (and `append`) to power-off.
    public static func boot(append: String?) -> Scenario {
        var scenario = Scenario(path: "--boot", name: "boot", lines: [])
        scenario.append = append
        return scenario
    }

    public init(scenario: Scenario, isBoot: Bool, sites: [String]) {
        self.scenario = scenario
        self.isBoot = isBoot
        self.sites = sites
    }

    /// The `inject` options for `action`: `return=0` → `--return 0`, `skip` → `--skip`.
    public static func injectOptions(_ action: String) -> String? {
        if action == "skip" { return "--skip" }
        guard let equals = action.firstIndex(of: "=") else { return nil }
        let key = action[..<equals], value = action[action.index(after: equals)...]
        guard ["return", "set", "write"].contains(key), !value.isEmpty, !value.contains(" ") else { return nil }
        return "--\(key) \(value)"
    }
}

/// Runs a campaign: the golden run, then one fresh QEMU per run (up to `jobs` at once),
/// each judged by the universal oracles, findings saved as reproducers.
public struct SweepRunner: Sendable {
    public static let powerOff = "mm_psci_system_off"
    public static let killSite = "exit_process"

    public var kernel: String

    public init(kernel: String) { self.kernel = kernel }

    struct Probe: @unchecked Sendable {
        final class Box: @unchecked Sendable {
            var reachedPowerOff = false
            var freePages: UInt64?
            var findings: [String] = []
            var killed = 0
            var points: [SweepPoint] = []
            var problem: String?
            var violations: [FaultEngine.BalanceViolation] = []
        }
        let box = Box()
    }

    // MARK: golden

    public func golden(_ spec: SweepSpec) throws(FaultInjectionError) -> SweepGolden {
        var scenario = spec.scenario
        scenario.lines = spec.scenario.lines
        scenario.timeout = spec.deadline
        let probe = Probe()
        let hooks = ScenarioRunner.Hooks(prepare: { session in
            guard let kernel = try? FaultSessionState.kernel(session, for: "sweep") else { probe.box.problem = "no kernel access"; return }
            let engine = FaultSessionState.of(session).engine
            for site in spec.sites {
                guard let address = kernel.elf.symbol(named: site)?.address else { probe.box.problem = "no symbol \(site)"; return }
                _ = try? engine.observe(address: address, pid: spec.pid, target: kernel.target)
            }
            SweepRunner.prepareOracles(session, balanced: spec.balanced)
        }, afterLines: { session, _ in
            SweepRunner.readOracles(session, deadline: spec.deadline, drive: true, into: probe.box)
            let engine = FaultSessionState.of(session).engine
            for (index, site) in spec.sites.enumerated() where index < engine.observers.count {
                for hit in engine.observers[index].hits {
                    var point = SweepPoint(site: site, hit: hit.hit, pid: hit.pid, caller: hit.caller,
                                           callerSymbol: session.symbols?.describe(hit.caller), grandCaller: hit.grandCaller)
                    point.enclosing = hit.enclosing
                    probe.box.points.append(point)
                }
            }
        })
        let result = ScenarioRunner(kernel: kernel).run(scenario, hooks: hooks)
        if let problem = probe.box.problem { throw .badFile(path: "sweep", line: nil, reason: problem) }
        guard probe.box.reachedPowerOff, let free = probe.box.freePages else {
            throw .badFile(path: spec.scenario.path, line: nil,
                           reason: "the golden run (no fault) did not power off within \(spec.deadline) s: \(result.failure ?? result.lastLogLines(2).joined(separator: " | "))")
        }
        if let failure = result.failure {
            throw .badFile(path: spec.scenario.path, line: nil, reason: "the golden run (no fault) fails: \(failure)")
        }
        return SweepGolden(kernel: kernel, image: result.trace.image, append: scenario.append, icountShift: scenario.icountShift,
                           scenarioLines: spec.isBoot ? [] : spec.scenario.lines.map(\.text),
                           scenarioPath: spec.isBoot ? nil : spec.scenario.path, sites: spec.sites, pid: spec.pid,
                           action: spec.action, points: probe.box.points, balanced: spec.balanced, freePages: free,
                           killed: probe.box.killed, transcript: result.trace.transcript, seconds: result.seconds)
    }

    /// The pool-balance watches, then an observer on `exit_process` (every task the kernel kills
    /// passes there; it is the last observer). With `enclosing` (a run) no entry is watched: only
    /// the returns of the calls the golden run saw the failed hits inside, which is where a failed
    /// hit can break the contract (deterministic: the run is the golden run up to that hit).
    static func prepareOracles(_ session: Session, balanced: [String], enclosing: [FaultEngine.PendingReturn]? = nil) {
        guard let kernel = try? FaultSessionState.kernel(session, for: "sweep") else { return }
        let engine = FaultSessionState.of(session).engine
        for contract in balanced {
            let parts = contract.split(separator: ":").map(String.init)
            guard parts.count == 2, let failure = FaultEngine.BalanceContract.Failure(rawValue: parts[1]),
                  let address = kernel.elf.symbol(named: parts[0])?.address else { continue }
            try? engine.watchBalance(name: parts[0], address: address, failure: failure,
                                     poolFreePages: kernel.poolFreePagesAddress, watchEntries: enclosing == nil, target: kernel.target)
        }
        if let enclosing { engine.balanceAtFiring = enclosing }
        guard let address = kernel.elf.symbol(named: killSite)?.address else { return }
        _ = try? engine.observe(address: address, pid: nil, target: kernel.target)
    }

    /// `NAME:-1` / `NAME:0`, as `--balanced` takes it.
    public static func isValidContract(_ text: String) -> Bool {
        let parts = text.split(separator: ":").map(String.init)
        return parts.count == 2 && !parts[0].isEmpty && FaultEngine.BalanceContract.Failure(rawValue: parts[1]) != nil
    }

    /// Drives to power-off (if the lines did not get there) and reads free pages and `check` there.
    /// `drive` false: the lines' own `go` already had its deadline; only look where it stopped.
    static func readOracles(_ session: Session, deadline: Double, drive: Bool, into box: Probe.Box) {
        guard session.target != nil, let kernel = try? FaultSessionState.kernel(session, for: "sweep"),
              let address = kernel.elf.symbol(named: powerOff)?.address else { return }
        let engine = FaultSessionState.of(session).engine
        if (try? session.registerValue("pc")) != address {
            guard drive, let (outcome, _) = try? FaultDriver.drive(session, goal: FaultDriver.Goal(address: address, timeout: deadline),
                                                            command: "sweep"),
                  outcome == .reachedAddress else {
                box.killed = engine.observers.last?.hits.count ?? 0
                return
            }
        }
        box.reachedPowerOff = true
        box.killed = engine.observers.last?.hits.count ?? 0
        box.violations = engine.violations
        guard let access = try? FaultSessionState.kernel(session, for: "sweep") else { return }
        box.freePages = try? access.freePages()
        if let report = try? access.check() { box.findings = report.findings.map(\.description) }
    }

    // MARK: runs

    /// The lines of the run (and of its reproducer, which adds the expectations).
    public static func lines(for run: SweepRun, golden: SweepGolden, deadline: Double) -> [String] {
        let action = SweepSpec.injectOptions(golden.action) ?? "--return 0"
        let injects = run.points.map { point in
            "inject \(point.site)" + (golden.pid.map { " --pid \($0)" } ?? "") + " --nth \(point.hit) \(action)"
        }
        return injects + golden.scenarioLines + ["go \(powerOff) --timeout \(String(format: "%g", deadline))"]
    }

    /// A scenario file that fails exactly as the run did under `mmdbg run`: the run's lines,
    /// then the universal oracles as expectations.
    public static func reproducer(for run: SweepRun, golden: SweepGolden, deadline: Double, outcome: SweepOutcome,
                                  detail: String, violation: FaultEngine.BalanceViolation? = nil) -> String {
        var text = "# sweep finding: \(outcome.rawValue) failing \(run.label)"
        text += run.points.map { " (pid \($0.pid.map(String.init) ?? "-"), caller \($0.callerSymbol ?? "?"))" }.joined() + "\n"
        text += "# \(detail)\n# golden: \(golden.freePages) free pages at power-off; image \(golden.image)\n"
        if let append = golden.append { text += "#! append \(append)\n" }
        text += "#! icount \(golden.icountShift)\n#! timeout \(Int(deadline.rounded(.up)) + 30)\n"
        for line in reproducerLines(for: run, golden: golden, deadline: deadline, violation: violation) { text += line + "\n" }
        return text
    }

    /// The run's lines and the oracles as expectations; a pool-balance violation (in a `--boot`
    /// campaign) adds, after the injection: stop at that entry, `baseline`, run to its return,
    /// `expect free-pages baseline`, as a hand-written scenario would (scenarios/oom-pte.mmdbg).
    public static func reproducerLines(for run: SweepRun, golden: SweepGolden, deadline: Double,
                                       violation: FaultEngine.BalanceViolation?) -> [String] {
        var lines = lines(for: run, golden: golden, deadline: deadline)
        if let violation, golden.scenarioLines.isEmpty {
            let timeout = String(format: "%g", deadline)
            lines.insert(contentsOf: ["go \(violation.function) --count \(violation.entry) --timeout \(timeout)", "baseline",
                                      "go --finish --timeout \(timeout)", "expect free-pages baseline"], at: run.points.count)
        }
        return lines + expectations(golden)
    }

    static func expectations(_ golden: SweepGolden) -> [String] {
        ["expect free-pages \(golden.freePages)", "expect check clean", #"expect absent '^\[PANIC\]'"#]
    }

    /// Runs one run of the campaign in a fresh QEMU; saves a reproducer and trace under
    /// `findingsDirectory` when it is a finding.
    public func execute(_ run: SweepRun, golden: SweepGolden, deadline: Double, findingsDirectory: String?) -> SweepResult {
        let lines = SweepRunner.lines(for: run, golden: golden, deadline: deadline)
        var scenario = Scenario(path: "sweep:\(run.label)", name: String(format: "run-%04d", run.index),
                                lines: lines.enumerated().map { Scenario.Line(number: $0.offset + 1, text: $0.element) })
        scenario.append = golden.append
        scenario.icountShift = golden.icountShift
        scenario.timeout = deadline
        let probe = Probe()
        let hooks = ScenarioRunner.Hooks(prepare: { SweepRunner.prepareOracles($0, balanced: golden.balanced,
                                                                               enclosing: run.points.flatMap(\.enclosing)) },
                                         afterLines: { session, outcomes in
            // The run's last line is its `go` to power-off; when an earlier line failed, the oracles drive there.
            let wentOff = outcomes.count == lines.count
            SweepRunner.readOracles(session, deadline: deadline, drive: !wentOff, into: probe.box)
        })
        var runner = ScenarioRunner(kernel: kernel)
        runner.finishTimeout = min(deadline, 30)
        let result = runner.run(scenario, hooks: hooks)
        // A failing line that is the scenario's own (not an inject or the final go) is its expectation failing.
        let ownRange = run.points.count..<(run.points.count + golden.scenarioLines.count)
        let failedLine = result.lines.last.flatMap { $0.succeeded ? nil : $0 }
        let scenarioFailure = failedLine.flatMap { line in
            ownRange.contains(line.line.number - 1) ? "line \(line.line.number - run.points.count) `\(line.line.text)`: \(line.text)" : nil
        }
        var observation = SweepObservation(reachedPowerOff: probe.box.reachedPowerOff, freePages: probe.box.freePages,
                                           checkFindings: probe.box.findings, killed: probe.box.killed,
                                           transcript: result.trace.transcript, scenarioFailure: scenarioFailure)
        observation.violations = probe.box.violations
        if result.failure?.hasPrefix("cannot") == true, result.lines.isEmpty {
            observation.scenarioFailure = result.failure  // QEMU could not start: say so rather than call it a hang
            observation.reachedPowerOff = true
        }
        return SweepRunner.finish(run, observation: observation, golden: golden, deadline: deadline, hits: result.trace.hits,
                                  seconds: result.seconds, qemuPID: result.qemuPID, findingsDirectory: findingsDirectory)
    }

    /// Judges a run; a finding is saved as `NNNN-SITE-HIT.mmdbg` plus its trace (what `mmdbg replay` takes).
    static func finish(_ run: SweepRun, observation: SweepObservation, golden: SweepGolden, deadline: Double, hits: [FaultHit],
                       seconds: Double, qemuPID: Int32?, method: String = "boot", findingsDirectory: String?) -> SweepResult {
        let (outcome, detail) = SweepOracle.judge(observation, golden: golden)
        var saved = SweepResult(run: run, outcome: outcome, detail: detail, signature: SweepOracle.signature(outcome, run.points),
                                seconds: seconds, reproducer: nil, trace: nil, qemuPID: qemuPID, method: method)
        guard outcome.isFinding, let findingsDirectory else { return saved }
        try? FileManager.default.createDirectory(atPath: findingsDirectory, withIntermediateDirectories: true)
        let base = (findingsDirectory as NSString).appendingPathComponent(
            String(format: "%04d-", run.index) + run.label.replacingOccurrences(of: "#", with: "-").replacingOccurrences(of: "+", with: "_"))
        let violation = observation.violations.first
        let text = SweepRunner.reproducer(for: run, golden: golden, deadline: deadline, outcome: outcome, detail: detail,
                                          violation: violation)
        let trace = FaultTrace(scenario: (base as NSString).lastPathComponent, scenarioPath: base + ".mmdbg", kernel: golden.kernel,
                               image: golden.image, append: golden.append, icountShift: golden.icountShift, timeout: deadline + 30,
                               lines: reproducerLines(for: run, golden: golden, deadline: deadline, violation: violation), hits: hits,
                               transcript: observation.transcript)
        if (try? text.write(toFile: base + ".mmdbg", atomically: true, encoding: .utf8)) != nil { saved.reproducer = base + ".mmdbg" }
        if (try? trace.write(to: base + ".trace.json")) != nil { saved.trace = base + ".trace.json" }
        return saved
    }

    /// Progress after each run: done, total, findings so far, runs per minute.
    public struct Progress: Sendable {
        public var done: Int
        public var total: Int
        public var findings: Int
        public var runsPerMinute: Double
        public var line: String {
            "sweep: \(done)/\(total) runs, \(total - done) to go, \(findings) finding(s), \(String(format: "%.1f", runsPerMinute)) runs/min"
        }
    }

    /// Runs `runs`, up to `jobs` at once; results in input order. `snapshots`: each job restores
    /// its own QEMU's snapshot per run where it can (`SweepSnapshotWorker`), else boots.
    public func execute(_ runs: [SweepRun], golden: SweepGolden, deadline: Double, jobs: Int, snapshots: Bool = false,
                        findingsDirectory: String?, progress: @escaping @Sendable (Progress) -> Void = { _ in }) -> [SweepResult] {
        let slots = SweepSlots(count: runs.count)
        let started = Date()
        let group = DispatchGroup()
        for _ in 0..<max(1, min(jobs, runs.count)) {
            group.enter()
            Thread.detachNewThread {
                let worker = snapshots ? SweepSnapshotWorker(kernel: self.kernel, golden: golden, deadline: deadline) : nil
                while let index = slots.claim() {
                    let run = runs[index]
                    let result = worker?.execute(run, findingsDirectory: findingsDirectory)
                        ?? self.execute(run, golden: golden, deadline: deadline, findingsDirectory: findingsDirectory)
                    let (done, findings) = slots.set(index, result)
                    let minutes = max(Date().timeIntervalSince(started) / 60, 1e-6)
                    progress(Progress(done: done, total: runs.count, findings: findings, runsPerMinute: Double(done) / minutes))
                }
                worker?.stop()
                group.leave()
            }
        }
        group.wait()
        return slots.values
    }
}

private final class SweepSlots: @unchecked Sendable {
    private var slots: [SweepResult?]
    private let lock = NSLock()

    private var next = 0

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    /// The next run nobody has taken, or nil when all are taken.
    func claim() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < slots.count else { return nil }
        next += 1
        return next - 1
    }

    func set(_ index: Int, _ result: SweepResult) -> (done: Int, findings: Int) {
        lock.lock(); defer { lock.unlock() }
        slots[index] = result
        let done = slots.compactMap { $0 }
        return (done.count, done.filter { $0.outcome.isFinding }.count)
    }

    var values: [SweepResult] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
