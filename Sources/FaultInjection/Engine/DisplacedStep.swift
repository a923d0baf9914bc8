import GdbRemote

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
/// be PC+4) still go through the client's single-step.
enum DisplacedStep {
    /// Nil when the target is stopped just past the instruction with every stop
    /// point back in place (or nothing needed stepping over); otherwise the
    /// stop that came first (exit, fault…), which the caller handles like any other.
    static func stepOver(_ client: GdbClient) throws(GdbError) -> StopReason? {
        guard client.state == .stopped else { return nil }
        let pc = try client.readRegister("pc")
        var lifted = client.breakpoints.filter { !$0.kind.isWatchpoint && $0.covers(pc) }
        if client.lastStopReason?.watchpoint != nil { lifted += client.breakpoints.filter(\.kind.isWatchpoint) }
        guard !lifted.isEmpty else { return nil }
        let word = try client.readMemory(at: pc, count: 4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard !isBranchOrSystem(word) else { return nil }  // the client's single-step handles it
        let next = pc &+ 4
        let nextIsTaken = client.breakpoints.contains { !$0.kind.isWatchpoint && $0.covers(next) }
        for point in lifted { try client.removeBreakpoint(point.kind, at: point.address, length: point.length) }
        if !nextIsTaken { try client.setBreakpoint(.software, at: next, length: 4) }
        let stop = try client.continueAndWait(timeout: 10)
        if !nextIsTaken, client.state == .stopped { try client.removeBreakpoint(.software, at: next, length: 4) }
        if client.state == .stopped {
            for point in lifted { try client.setBreakpoint(point.kind, at: point.address, length: point.length) }
        }
        if !stop.hasExited, stop.watchpoint == nil, !nextIsTaken, try client.readRegister("pc") == next { return nil }
        return stop
    }

    /// A64 "branches, exception generating and system instructions" (op0 = 101x):
    /// B, BL, B.cond, CBZ, TBZ, BR, BLR, RET, SVC, ERET, MSR…
    static func isBranchOrSystem(_ word: UInt32) -> Bool {
        (word >> 26) & 0b111 == 0b101
    }
}
