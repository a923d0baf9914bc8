import MmdbgCore

/// Steps over the stop point at the PC without QEMU's single-step: lift it,
/// put a temporary breakpoint on the next instruction, continue, restore.
///
/// Why: it keeps every stop a breakpoint stop, one mechanism whose effect on
/// guest time is understood (docs/fault-injection-determinism.md). Under
/// `-icount` QEMU 7.2 warps guest time at debug stops; the kernel keeps its
/// timer off in IRQ-masked code so nothing moves, and with that both this and
/// QEMU's single-step give the no-debugger transcript (measured). The kernel
/// runs trigger functions with IRQs masked, so nothing else runs while the stop
/// point is lifted. Branches and system instructions (whose successor may not
/// be PC+4) still go through the target's single-step.
enum DisplacedStep {
    /// How long the displaced instruction may take to reach the next one.
    static let deadline: Double = 10

    /// Nil when the target is stopped just past the instruction with every stop
    /// point back in place (or nothing needed stepping over); otherwise the
    /// stop that came first (exit, fault…), which the caller handles like any other.
    static func stepOver(_ session: Session) throws(CommandError) -> StopEvent? {
        guard let target = session.target, target.runState == .stopped else { return nil }
        let pc = try target.readRegisters(["pc"])[0]
        let points = target.insertedStopPoints
        var lifted = points.filter { $0.covers(pc) }
        if target.lastStop?.watchAddress != nil { lifted += points.filter(\.kind.isWatchpoint) }
        guard !lifted.isEmpty else { return nil }
        let word = try target.readMemory(at: pc, count: 4, physical: false)
        guard !isBranchOrSystem(word.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) else {
            return nil  // the target's single-step handles it
        }
        let next = pc &+ 4
        let nextIsTaken = points.contains { $0.covers(next) }
        for point in lifted { try target.removeBreakpoint(point.kind, at: point.address, length: point.length) }
        if !nextIsTaken { try target.insertBreakpoint(.software, at: next, length: 4) }
        try session.runControl.resume(baseline: false)
        let (_, stop) = try session.runControl.wait(deadline: deadline)
        let stopped = target.runState == .stopped
        if !nextIsTaken, stopped { try target.removeBreakpoint(.software, at: next, length: 4) }
        if stopped {
            for point in lifted { try target.insertBreakpoint(point.kind, at: point.address, length: point.length) }
        }
        if !stop.targetIsGone, stop.watchAddress == nil, !nextIsTaken, try target.readRegisters(["pc"])[0] == next {
            return nil
        }
        return stop
    }

    /// A64 "branches, exception generating and system instructions" (op0 = 101x):
    /// B, BL, B.cond, CBZ, TBZ, BR, BLR, RET, SVC, ERET, MSR…
    static func isBranchOrSystem(_ word: UInt32) -> Bool {
        (word >> 26) & 0b111 == 0b101
    }
}
