import Foundation
import GdbRemote
import MmdbgCore

/// Runs the session's target with its faults applied: every stop at a
/// fault's trigger is handled and the target resumed, until a goal is met.
/// No real-time sleeps decide anything: goals are guest events (a function
/// entry, a UART line, power-off); the wall-clock deadline only guards hangs.
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

    public enum Outcome: Equatable {
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
        if let pattern = goal.uart, matches(pattern, session) { return (.uartMatched, []) }
        if let firings = goal.firings, state.engine.trace.count >= firings { return (.fired, []) }
        let client = try FaultSessionState.client(session, for: command)
        let kernel = try FaultSessionState.kernel(session, for: command)
        let goalPoint = goal.address.map { FaultEngine.StopPoint(kind: .software, address: $0, length: 4) }
        if let goalPoint { try wrap { () throws(FaultInjectionError) in try state.engine.insert(goalPoint, client: client) } }
        defer { if let goalPoint, client.state == .stopped { state.engine.release(goalPoint, client: client) } }
        let deadline = Date().addingTimeInterval(goal.timeout)
        var reached = 0
        var fired: [FaultHit] = []
        while true {
            session.kernelViews?.targetWillResume()
            let waited: Wait
            if let early = try gdb({ () throws(GdbError) in try DisplacedStep.stepOver(client) }) {
                waited = .stopped(early)
            } else {
                try gdb { () throws(GdbError) in try client.resume() }
                session.noteResumed()
                waited = try waitForStop(client, session, goal: goal, deadline: deadline)
            }
            let stop: StopReason
            switch waited {
            case .uartMatched:
                try settle(session, client, reason: "uart matched")
                return (.uartMatched, fired)
            case .deadline:
                try settle(session, client, reason: "deadline")
                return (.timedOut, fired)
            case .stopped(let reason):
                stop = reason
            }
            if stop.hasExited {
                let event: StopEvent
                switch stop.kind {
                case .exited(let status): event = .exited(Int(status))
                case .terminated(let signal): event = .terminated(Int(signal))
                case .signal(let signal): event = .signal(Int(signal))
                }
                session.noteGone(event)
                return (.exited(event.summary), fired)
            }
            session.noteStopped(reason: stop.description)
            let pc: UInt64
            do throws(GdbError) { pc = try client.readRegister("pc") } catch {
                // Powered off right after this stop: report the exit, not a register error.
                guard client.state == .stopped else {
                    session.noteGone(.exited(0))
                    return (.exited("exited"), fired)
                }
                throw GdbTarget.translateForFaults(error)
            }
            let handled = try wrap { () throws(FaultInjectionError) in
                try state.engine.handleStop(pc: pc, watchAddress: stop.watchpoint?.address, kernel: kernel,
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
                    try session.refreshStopState(reason: "reached \(session.symbols?.describe(address) ?? hexString(address))")
                    return (.reachedAddress, fired)
                }
                continue
            }
            if handled.isOwnStop { continue }
            if let pattern = goal.uart, matches(pattern, session) {
                try session.refreshStopState(reason: "uart matched")
                return (.uartMatched, fired)
            }
            let reason = stop.description
            try session.refreshStopState(reason: reason)
            return (.otherStop(reason), fired)
        }
    }

    enum Wait {
        case stopped(StopReason)
        case uartMatched
        case deadline
    }

    /// Waits in short slices so the UART goal and the deadline are checked while the guest runs.
    static func waitForStop(_ client: GdbClient, _ session: Session, goal: Goal, deadline: Date) throws(CommandError) -> Wait {
        while true {
            do throws(GdbError) {
                return .stopped(try client.waitForStop(timeout: 0.02))
            } catch {
                guard case .timedOut = error.kind else { throw GdbTarget.translateForFaults(error) }
            }
            if let pattern = goal.uart, matches(pattern, session) { return .uartMatched }
            if Date() >= deadline || session.interruptRequested() { return .deadline }
        }
    }

    /// Stops the running target and records the stop in the session.
    private static func settle(_ session: Session, _ client: GdbClient, reason: String) throws(CommandError) {
        // The guest may power off between the match and the interrupt (the
        // kernel's last lines come right before it): then it is simply gone.
        let stop = try? client.interrupt(timeout: 5)
        guard let stop, !stop.hasExited, client.state == .stopped else {
            if client.state != .stopped { session.noteGone(.exited(0)) }
            return
        }
        session.noteStopped(reason: reason)
        do throws(CommandError) { try session.refreshStopState(reason: reason) } catch {
            guard client.state != .stopped else { throw error }
            session.noteGone(.exited(0))
        }
    }

    /// Whether the console matches: `outputText` holds all the guest printed,
    /// so a stopped target is never resumed to wait for a line it already wrote.
    static func matches(_ pattern: NSRegularExpression, _ session: Session) -> Bool {
        let text = session.launchedQEMU?.outputText ?? ""
        return pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private static func gdb<T>(_ body: () throws(GdbError) -> T) throws(CommandError) -> T {
        do throws(GdbError) { return try body() } catch { throw GdbTarget.translateForFaults(error) }
    }

    static func wrap<T>(_ body: () throws(FaultInjectionError) -> T) throws(CommandError) -> T {
        do throws(FaultInjectionError) { return try body() } catch { throw error.commandError }
    }
}

extension GdbTarget {
    /// GdbRemote's error as the command language reports it (a lost connection stays one).
    static func translateForFaults(_ error: GdbError) -> CommandError {
        if case .disconnected = error.kind { return .connectionLost(error.description) }
        return .target(error.description)
    }
}
