import Foundation

/// Reverse execution: the same engine, direction `.reverse`. The target must be a
/// QEMU replaying a recording (`DebugTarget.canReverse`); anything else is refused
/// with one line before anything is sent.
extension RunControl {
    /// Refuses reverse execution on a target that cannot go backwards.
    func requireReverse(_ command: String) throws(CommandError) {
        let target = try session.requireStoppedTarget(for: command)
        guard target.canReverse else {
            throw .unavailable("\(command): reverse execution needs a recording replayed by QEMU (`mmdbg replay --debug DIR`)")
        }
    }

    /// `reverse-continue`: back to the previous breakpoint or watchpoint hit, or the start of the recording.
    public func reverseContinue(timeout: Double?) throws(CommandError) -> RunReport {
        try requireReverse("reverse-continue")
        return try continueToStop(timeout: timeout, direction: .reverse)
    }

    /// `reverse-stepi N`.
    public func reverseStepInstructions(_ count: Int) throws(CommandError) -> RunReport {
        try requireReverse("reverse-stepi")
        return try stepInstructions(count, direction: .reverse)
    }

    /// `reverse-step`/`reverse-next`: backwards until the PC is in another function
    /// (function granularity until source-line stepping lands in `RunControl`).
    public func reverseStep(limit: Int) throws(CommandError) -> RunReport {
        try requireReverse("reverse-step")
        return try stepOutOfFunction(limit: limit, direction: .reverse)
    }

    /// `reverse-finish`: back to where the current function was called. A temporary
    /// breakpoint at the function's first instruction, reverse-continue to it, then one
    /// instruction back (the caller's `bl`). At the first instruction only the last step.
    public func reverseFinish(timeout: Double?) throws(CommandError) -> RunReport {
        try requireReverse("reverse-finish")
        let target = try session.requireStoppedTarget(for: "reverse-finish")
        let pc = try session.registerValue("pc")
        guard let (name, offset) = session.symbols?.symbolicate(pc) else {
            throw .unavailable("reverse-finish: no symbol covers \(Hex.format(pc)) (load the kernel ELF)")
        }
        if offset > 0 {
            let entry = pc &- offset
            try target.insertBreakpoint(.software, at: entry, length: 4)
            let temporary = session.breakpoints.add(kind: .software, address: entry, length: 4, temporary: true,
                                                    expression: "reverse-finish \(name)", role: .user)
            defer {
                if session.breakpoints.remove(id: temporary.id) != nil, session.state != .running {
                    try? session.target?.removeBreakpoint(.software, at: entry, length: 4)
                }
            }
            let back = try continueToStop(timeout: timeout, direction: .reverse)
            guard back.breakpoint == temporary.id else { return back }  // another stop point, the start, a deadline
        }
        return try stepInstructions(1, direction: .reverse)
    }
}
