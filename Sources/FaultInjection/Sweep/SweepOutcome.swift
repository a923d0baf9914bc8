import Foundation

/// How one run of a campaign ended, judged by the universal oracles against the golden run.
public enum SweepOutcome: String, Codable, Sendable, CaseIterable {
    case ok
    /// The kernel coped and said so: the transcript differs (a syscall failed, a [TEST] FAIL), nothing else.
    case softFailed = "soft-failed"
    /// A task was killed with a `[KERN]` marker the golden run did not print.
    case taskKilled = "task-killed"
    /// Powered off with fewer free pages than the golden run.
    case leak
    /// No power-off within the run's deadline (QEMU killed).
    case hang
    /// `[PANIC]` (an unexpected exception prints one too), or a task killed without a `[KERN]` marker.
    case panic
    /// `check` found something at power-off.
    case checkFinding = "check-finding"
    /// One of the scenario's own expectations failed.
    case scenarioFailed = "scenario-failed"

    /// A finding is what a campaign reports as a bug: it gets a reproducer.
    public var isFinding: Bool {
        switch self {
        case .ok, .softFailed, .taskKilled: return false
        default: return true
        }
    }
}

/// What the golden run (no fault) established: the hits, and the values every run is held to.
public struct SweepGolden: Codable, Sendable, Equatable {
    public var format = 1
    public var kernel: String
    public var image: String
    public var append: String?
    public var icountShift: Int
    /// The base scenario's lines (empty for `--boot`) and its path.
    public var scenarioLines: [String]
    public var scenarioPath: String?
    public var sites: [String]
    public var pid: Int64?
    /// The action text (`return=0`) and its `inject` option form (`--return 0`).
    public var action: String
    public var points: [SweepPoint]
    /// Pool-balance contracts every run watches (`map_page:-1`: a call returning -1 must leave the pool as it found it).
    public var balanced: [String] = []
    public var freePages: UInt64
    /// Tasks killed (`exit_process` entries) and `[KERN]` lines in the golden run.
    public var killed: Int
    public var transcript: String
    public var seconds: Double
}

/// What the oracles read from one run.
public struct SweepObservation: Sendable, Equatable {
    public var reachedPowerOff: Bool
    public var freePages: UInt64?
    public var checkFindings: [String]
    public var killed: Int
    public var transcript: String
    /// A base-scenario line that failed (not the sweep's own `go`).
    public var scenarioFailure: String?
    /// Failed calls of a balanced function that kept pages.
    public var violations: [FaultEngine.BalanceViolation] = []

    public init(reachedPowerOff: Bool, freePages: UInt64?, checkFindings: [String], killed: Int, transcript: String,
                scenarioFailure: String?) {
        self.reachedPowerOff = reachedPowerOff
        self.freePages = freePages
        self.checkFindings = checkFindings
        self.killed = killed
        self.transcript = transcript
        self.scenarioFailure = scenarioFailure
    }
}

public enum SweepOracle {
    /// The outcome and a one-line detail. Order: the worst first (a hang hides the rest).
    public static func judge(_ run: SweepObservation, golden: SweepGolden) -> (SweepOutcome, String) {
        guard run.reachedPowerOff else { return (.hang, "no power-off within the deadline") }
        if let panic = lines(run.transcript).first(where: { $0.hasPrefix("[PANIC]") }) { return (.panic, panic) }
        let markers = lines(run.transcript).filter { $0.hasPrefix("[KERN]") }
        if run.killed > markers.count {
            return (.panic, "\(run.killed) task(s) killed, \(markers.count) [KERN] marker(s)")
        }
        if let free = run.freePages, free != golden.freePages {
            let lost = Int64(bitPattern: golden.freePages &- free)
            return (.leak, lost > 0 ? "\(lost) page(s) leaked" : "\(-lost) page(s) more free than golden")
        }
        if let violation = run.violations.first { return (.leak, violation.description) }
        if let first = run.checkFindings.first { return (.checkFinding, first) }
        if let failure = run.scenarioFailure { return (.scenarioFailed, failure) }
        var goldenMarkers = lines(golden.transcript).filter { $0.hasPrefix("[KERN]") }
        let newMarkers = markers.filter { marker in
            guard let index = goldenMarkers.firstIndex(of: marker) else { return true }
            goldenMarkers.remove(at: index)
            return false
        }
        if let first = newMarkers.first { return (.taskKilled, first) }
        let ours = normalized(run.transcript), theirs = normalized(golden.transcript)
        if ours != theirs {
            let gold = Set(theirs)
            return (.softFailed, ours.first { !gold.contains($0) } ?? "transcript differs")
        }
        return (.ok, "")
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// The transcript without what legitimately moves when a path changes: tick counts and free-page figures.
    static func normalized(_ text: String) -> [String] {
        lines(text).map { line in
            line.replacing(/ticks \d+/, with: "ticks N").replacing(/free pages \d+/, with: "free pages N")
                .replacing(/before=\d+ after=\d+/, with: "before=N after=N")
        }
    }

    /// Runs with the same signature are one finding: outcome, site, caller function.
    public static func signature(_ outcome: SweepOutcome, _ points: [SweepPoint]) -> String {
        ([outcome.rawValue] + points.map { "\($0.site)<-\($0.callerFunction)" }).joined(separator: " ")
    }
}
