import Foundation
import MmdbgCore

/// Runs the session's target with its faults applied: a loop of goals on
/// top of the session's run-control engine. Every stop at a fault's trigger
/// is handled and the target resumed, until a goal is met. No real-time
/// sleeps decide anything: goals are guest events (a function entry, a UART
/// line, power-off); the wall-clock deadline only guards hangs.
public enum FaultDriver {
    /// What ends a drive.
    public struct Goal {
        /// Stop at the `count`-th entry of this address.
        public var address: UInt64?
        public var count = 1
        /// Stop once the UART transcript matches (checked while running).
        public var uart: NSRegularExpression?
        /// Stop once the engine's trace holds this many firings.
        public var firings: Int?
        public var timeout: Double

        public init(address: UInt64? = nil, count: Int = 1, uart: NSRegularExpression? = nil, firings: Int? = nil,
                    timeout: Double) {
            self.address = address
            self.count = count
            self.uart = uart
            self.firings = firings
            self.timeout = timeout
        }
    }

    public enum Outcome: Equatable, Sendable {
        case reachedAddress
        case uartMatched
        case fired
        /// QEMU exited (power-off) or the stub went away.
        case exited(String)
        case timedOut
        /// A stop nobody in the engine asked for (a user breakpoint, a signal).
        case otherStop(String)

        public var summary: String {
            switch self {
            case .reachedAddress: return "reached"
            case .uartMatched: return "uart matched"
            case .fired: return "fault fired"
            case .exited(let why): return "target \(why)"
            case .timedOut: return "deadline passed"
            case .otherStop(let why): return "stopped: \(why)"
            }
        }
    }

    /// Drives `session`'s target toward `goal`; returns how it ended and the firings on the way.
    public static func drive(_ session: Session, goal: Goal, command: String) throws(CommandError) -> (Outcome, [FaultHit]) {
        let state = FaultSessionState.of(session)
        let uartMatched = goal.uart.map { pattern in { matches(pattern, session) } }
        if let uartMatched, uartMatched() { return (.uartMatched, []) }
        if let firings = goal.firings, state.engine.trace.count >= firings { return (.fired, []) }
        let kernel = try FaultSessionState.kernel(session, for: command)
        let target = kernel.target
        let goalPoint = goal.address.map { StopPoint(kind: .software, address: $0, length: 4) }
        if let goalPoint { try wrap { () throws(FaultInjectionError) in try state.engine.insert(goalPoint, target: target) } }
        defer { if let goalPoint, target.runState == .stopped { state.engine.release(goalPoint, target: target) } }
        let deadline = Date().addingTimeInterval(goal.timeout)
        var reached = 0
        var fired: [FaultHit] = []
        while true {
            let stop: StopEvent
            if let early = try DisplacedStep.stepOver(session) {
                stop = early
            } else {
                try session.runControl.resume()
                let (cause, event) = try session.runControl.wait(deadline: max(0, deadline.timeIntervalSinceNow),
                                                                 until: uartMatched)
                switch cause {
                case .stopped:
                    stop = event
                case .conditionMet:
                    return (try settled(session, event, reason: "uart matched", outcome: .uartMatched), fired)
                case .deadline, .interruptRequested:
                    return (try settled(session, event, reason: "deadline", outcome: .timedOut), fired)
                }
            }
            if stop.targetIsGone {
                session.noteGone(stop)
                return (.exited(stop.summary), fired)
            }
            session.noteStopped(reason: stop.summary)
            let pc: UInt64
            do throws(CommandError) { pc = try session.registerValue("pc") } catch {
                // Powered off right after this stop: report the exit, not a register error.
                guard target.runState == .stopped else {
                    session.noteGone(.exited(0))
                    return (.exited("exited"), fired)
                }
                throw error
            }
            let handled = try wrap { () throws(FaultInjectionError) in
                try state.engine.handleStop(pc: pc, watchAddress: stop.watchAddress, kernel: kernel,
                                            symbolicate: { session.symbols?.describe($0) })
            }
            fired += handled.hits
            if let firings = goal.firings, state.engine.trace.count >= firings {
                try session.refreshStopState(reason: "fault fired")
                return (.fired, fired)
            }
            if let address = goal.address, pc == address {
                reached += 1
                if reached >= goal.count {
                    try session.refreshStopState(reason: "reached \(session.symbols?.describe(address) ?? Hex.format(address))")
                    return (.reachedAddress, fired)
                }
                continue
            }
            if handled.isOwnStop { continue }
            if let uartMatched, uartMatched() {
                try session.refreshStopState(reason: "uart matched")
                return (.uartMatched, fired)
            }
            try session.refreshStopState(reason: stop.summary)
            return (.otherStop(stop.summary), fired)
        }
    }

    /// Records the stop that ended a wait the driver cut short (the engine
    /// interrupted the target); a target that powered off meanwhile is gone.
    private static func settled(_ session: Session, _ stop: StopEvent, reason: String,
                                outcome: Outcome) throws(CommandError) -> Outcome {
        if stop.targetIsGone {
            session.noteGone(stop)
            return outcome
        }
        session.noteStopped(reason: reason)
        do throws(CommandError) { try session.refreshStopState(reason: reason) } catch {
            guard session.target?.runState != .stopped else { throw error }
            session.noteGone(.exited(0))
        }
        return outcome
    }

    /// Whether the console matches: `outputText` holds all the guest printed,
    /// so a stopped target is never resumed to wait for a line it already wrote.
    static func matches(_ pattern: NSRegularExpression, _ session: Session) -> Bool {
        let text = session.launchedQEMU?.outputText ?? ""
        return pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    static func wrap<T>(_ body: () throws(FaultInjectionError) -> T) throws(CommandError) -> T {
        do throws(FaultInjectionError) { return try body() } catch { throw error.commandError }
    }
}
