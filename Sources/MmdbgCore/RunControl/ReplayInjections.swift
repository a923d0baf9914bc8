import Foundation

/// One write the debugger made through the stub: a register (`register` set, `value`)
/// or `size` bytes of `value`, little-endian, at virtual `address`. QEMU's event log
/// does not hold these, so a replay re-applies them (`ReplayInjection`).
public struct InjectedWrite: Codable, Sendable, Equatable {
    public var register: String?
    public var address: UInt64?
    public var value: UInt64
    public var size: Int

    public static func register(_ name: String, _ value: UInt64) -> InjectedWrite {
        InjectedWrite(register: name, address: nil, value: value, size: 8)
    }

    public static func memory(_ address: UInt64, _ value: UInt64, size: Int) -> InjectedWrite {
        InjectedWrite(register: nil, address: address, value: value, size: size)
    }

    public var bytes: [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }
}

/// A fault firing of a recorded scenario, as a replay re-applies it: at instruction
/// count `icount` (the PC must be `pc` there), the `writes`, then a QEMU snapshot
/// (`savevm mmdbg-injection-N`) so reverse execution never replays across it.
public struct ReplayInjection: Sendable, Equatable {
    /// The firing's number in the recording's trace (1-based).
    public var index: Int
    public var icount: UInt64
    public var pc: UInt64
    /// `get_free_page return 0x0`.
    public var label: String
    public var writes: [InjectedWrite]
    /// Set once the snapshot after it exists.
    public var snapshotTaken = false

    public init(index: Int, icount: UInt64, pc: UInt64, label: String, writes: [InjectedWrite]) {
        self.index = index
        self.icount = icount
        self.pc = pc
        self.label = label
        self.writes = writes
    }

    public var snapshotName: String { "mmdbg-injection-\(index)" }
    public var text: String { "injection #\(index) (\(label), icount \(icount))" }
}

extension Session {
    /// The instruction count now when the replay has injections (nil otherwise, without a round trip).
    func injectionPosition() -> UInt64? {
        guard !replayInjections.isEmpty, let target, target.canReverse, target.runState == .stopped,
              let text = try? target.monitor("info replay") else { return nil }
        return ReplayPosition.instructionCount(fromInfoReplay: text)
    }

    /// The first injection after `position`.
    func nextInjection(after position: UInt64) -> ReplayInjection? {
        replayInjections.filter { $0.icount > position }.min { $0.icount < $1.icount }
    }

    /// The last injection at or before `position`: reverse execution does not go past it.
    func injectionBarrier(at position: UInt64) -> ReplayInjection? {
        replayInjections.filter { $0.icount <= position }.max { $0.icount < $1.icount }
    }

    /// Re-applies `injection`'s writes on the stopped replay (which must be at its instruction
    /// count, at its PC), and takes the snapshot after it the first time.
    func applyInjection(_ injection: ReplayInjection) throws(CommandError) {
        let target = try requireStoppedTarget(for: "replaying an injection")
        let pc = try registerValue("pc")
        guard pc == injection.pc else {
            throw .target("the replay diverged: \(injection.text) was made at \(Hex.format(injection.pc)), the replay is at \(Hex.format(pc))")
        }
        for write in injection.writes {
            if let name = write.register {
                try target.writeRegister(name, value: write.value)
            } else if let address = write.address {
                try target.writeMemory(at: address, bytes: write.bytes)
            }
        }
        invalidateCaches()
        if let slot = replayInjections.firstIndex(where: { $0.index == injection.index }), !replayInjections[slot].snapshotTaken {
            let answer = try target.monitor("savevm \(injection.snapshotName)")
            if answer.lowercased().contains("error") { throw .target("savevm after \(injection.text): \(CommandError.clip(answer))") }
            replayInjections[slot].snapshotTaken = true
        }
        try refreshStopState(reason: "re-applied \(injection.text)")
    }
}

extension RunControl {
    /// Forward `continue` on a replay with injections: QEMU stops (`replay_break`) at the next
    /// injection's instruction count, the writes are re-applied, and the run goes on, up to
    /// `until` (an instruction count the caller set with `replay_break`, re-armed here) or a stop.
    func continueAcrossInjections(timeout: Double?, until: UInt64?) throws(CommandError) -> RunReport {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while true {
            let remaining = deadline.map { max(0.1, $0.timeIntervalSinceNow) }
            guard let now = session.injectionPosition(), let next = session.nextInjection(after: now),
                  until.map({ next.icount <= $0 }) ?? true else {
                if let until { _ = try session.requireStoppedTarget(for: "continue").monitor("replay_break \(until)") }
                try resume(.forward)
                let report = try waitAndReport(timeout: remaining, direction: .forward)
                if let until { deleteReplayBreak(unless: report, reached: until) }
                return report
            }
            _ = try session.requireStoppedTarget(for: "continue").monitor("replay_break \(next.icount)")
            try resume(.forward)
            let report = try waitAndReport(timeout: remaining, direction: .forward)
            guard report.position == next.icount else {  // a stop before it (or the end)
                deleteReplayBreak(unless: report, reached: next.icount)
                return report
            }
            try session.applyInjection(next)
            // A stop point of the session's there, or the caller's goal: the stop stands. (QEMU reports
            // the `replay_break` stop as a SIGINT: that is not the user's Ctrl-C.)
            if report.breakpoint != nil || until == next.icount || report.isFailure || session.interruptRequested() {
                return report
            }
        }
    }

    /// A stop before the `replay_break` instruction count leaves QEMU's break armed: it would
    /// stop a later run there (and QEMU asserts when a break lies behind the replay).
    private func deleteReplayBreak(unless report: RunReport, reached icount: UInt64) {
        guard !report.targetIsGone, report.position != icount, let target = session.target, target.runState == .stopped else { return }
        _ = try? target.monitor("replay_delete_break")
    }

    /// After one forward step: arriving at an injection's instruction count re-applies it.
    func applyInjectionIfArrived(from before: UInt64?) throws(CommandError) {
        guard let before, let next = session.nextInjection(after: before),
              let now = session.injectionPosition(), now == next.icount else { return }
        try session.applyInjection(next)
    }

    /// A report that reverse execution stopped at `injection` rather than cross it.
    func injectionStop(_ injection: ReplayInjection, steps: Int? = nil) throws(CommandError) -> RunReport {
        session.noteStopped(reason: "at \(injection.text)")
        try session.refreshStopState(reason: "at \(injection.text)")
        let position = session.refreshReplayPosition(direction: .reverse)
        let classification = StopClassification(event: .injection,
                                                reason: "stopped at \(injection.text): reverse execution does not cross an injection")
        var report = RunReport(classification: classification, steps: steps, cpu: nil, direction: .reverse, target: session.state)
        report.position = position
        report.injection = injection.index
        emit(.stopped(report))
        return report
    }

    /// Reverse `continue` on a replay with injections: QEMU searches back through its snapshots
    /// and may land before the last injection (or at the start); then the replay goes forward
    /// to the injection, re-applies it, and the stop is the injection.
    func reverseContinueStoppingAtInjections(timeout: Double?) throws(CommandError) -> RunReport {
        guard let now = session.injectionPosition(), let barrier = session.injectionBarrier(at: now) else {
            try resume(.reverse)
            return try waitAndReport(timeout: timeout, direction: .reverse)
        }
        if now == barrier.icount { return try injectionStop(barrier) }
        try resume(.reverse)
        let report = try waitAndReport(timeout: timeout, direction: .reverse)
        if report.isFailure || report.targetIsGone { return report }
        if let position = report.position, position >= barrier.icount, report.event != .recordingBoundary { return report }
        try session.withLiftedStopPoints { () throws(CommandError) in
            _ = try continueAcrossInjections(timeout: timeout, until: barrier.icount)
        }
        return try injectionStop(barrier)
    }
}

extension Session {
    /// Runs `body` with the session's stop points out of the target, and puts them back.
    func withLiftedStopPoints(_ body: () throws(CommandError) -> Void) throws(CommandError) {
        let target = try requireStoppedTarget(for: "seek")
        let lifted = target.insertedStopPoints
        for point in lifted { try target.removeBreakpoint(point.kind, at: point.address, length: point.length) }
        defer {
            if target.runState == .stopped {
                for point in lifted { try? target.insertBreakpoint(point.kind, at: point.address, length: point.length) }
            }
        }
        try body()
    }
}
