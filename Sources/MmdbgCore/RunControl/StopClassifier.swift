/// How a run-control request came to its stop, beyond what the stub said.
public enum RunEnding: Equatable, Sendable {
    /// The target stopped by itself (`continue`, `finish`, a fault driver's resume).
    case stopped
    /// Ctrl-C or `interrupt`; the text is the reason shown.
    case interrupted(String)
    /// The deadline (seconds) ran out and the target was interrupted.
    case deadline(Double)
    /// `stepi`/`step` did what was asked in this many instructions.
    case stepped(Int)
    /// `step --max` ran out; the text says where.
    case stepLimit(String)
}

/// Everything the classifier looks at: what the stub reported and what the
/// session expected. Built by the run-control engine; no I/O behind it.
public struct StopFacts: Equatable, Sendable {
    /// The stub's stop.
    public var event: StopEvent
    /// How the request ended.
    public var ending: RunEnding
    /// The session breakpoint or watchpoint that explains the stop, if any.
    public var hit: BreakpointTable.Entry?
    /// x0 at the stop, read when `hit` is a `finish` return breakpoint.
    public var returnValue: UInt64?

    public init(event: StopEvent, ending: RunEnding, hit: BreakpointTable.Entry? = nil, returnValue: UInt64? = nil) {
        self.event = event
        self.ending = ending
        self.hit = hit
        self.returnValue = returnValue
    }
}

/// The event and the human reason of one stop.
public struct StopClassification: Equatable, Sendable {
    public var event: RunEvent
    public var reason: String
    /// The signal number, for `signal` and `terminated` events.
    public var signal: Int?
    /// QEMU's exit status, for `exited`.
    public var exitStatus: Int?

    public init(event: RunEvent, reason: String, signal: Int? = nil, exitStatus: Int? = nil) {
        self.event = event
        self.reason = reason
        self.signal = signal
        self.exitStatus = exitStatus
    }
}

/// Names a stop: a pure function from `StopFacts` to `StopClassification`,
/// so every event kind is tested without a target.
///
/// The order of precedence, highest first:
/// 1. the target is gone (`exited`, `terminated`);
/// 2. a session breakpoint or watchpoint explains it: that is the stop asked for, even
///    when Ctrl-C or the deadline came at the same moment (`breakpoint`, `watchpoint`,
///    `returned` for `finish`'s own breakpoint);
/// 3. how the request ended (`interrupted`, `deadline`, `step`, `step-limit`);
/// 4. what the stub said (SIGINT is `interrupted`, a watch stop nobody set is `watchpoint`,
///    anything else `signal`).
public enum StopClassifier {
    public static func classify(_ facts: StopFacts) -> StopClassification {
        switch facts.event {
        case .exited(let status):
            return StopClassification(event: .exited, reason: facts.event.summary, exitStatus: status)
        case .terminated(let signal):
            return StopClassification(event: .terminated, reason: facts.event.summary, signal: signal)
        case .recordingBoundary:
            return StopClassification(event: .recordingBoundary, reason: facts.event.summary)
        default: break
        }
        if let hit = facts.hit {
            if hit.role == .finishReturn {
                let value = facts.returnValue.map { " (x0 = \(Hex.format($0)))" } ?? ""
                return StopClassification(event: .returned, reason: "returned" + value)
            }
            let event: RunEvent = hit.kind.isWatchpoint ? .watchpoint : .breakpoint
            return StopClassification(event: event, reason: "\(event.rawValue) \(hit.id)")
        }
        switch facts.ending {
        case .interrupted(let why): return StopClassification(event: .interrupted, reason: why)
        case .deadline(let seconds):
            return StopClassification(event: .deadline,
                                      reason: "no stop within the \(secondsText(seconds)) s deadline (--timeout), interrupted")
        case .stepped(let count): return StopClassification(event: .step, reason: count == 1 ? "step" : "\(count) steps")
        case .stepLimit(let why): return StopClassification(event: .stepLimit, reason: why)
        case .stopped:
            switch facts.event {
            case .signal(2): return StopClassification(event: .interrupted, reason: facts.event.summary)
            case .watchpoint: return StopClassification(event: .watchpoint, reason: facts.event.summary)
            case .signal(let number): return StopClassification(event: .signal, reason: facts.event.summary, signal: number)
            default: return StopClassification(event: .signal, reason: facts.event.summary)  // gone: classified above
            }
        }
    }

    /// `1`, `0.5`: a deadline as the user would have typed it.
    public static func secondsText(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
