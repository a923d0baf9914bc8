import Foundation

/// Which way the target runs. Reverse needs a target that can go backwards
/// (a QEMU replay); others refuse it with one line.
public enum RunDirection: String, Sendable {
    case forward
    case reverse
}

/// What the run-control engine tells its subscribers. The REPL prints the
/// command results instead; an editor adapter maps these to its protocol's
/// events (`continued`, `stopped`, `output`, `exited`).
public enum RunControlEvent: Sendable {
    /// The target was resumed.
    case continued(RunDirection)
    /// The target stopped; the report says why and where.
    case stopped(RunReport)
    /// The target is gone (QEMU exited or was killed).
    case exited(RunReport)
    /// Console text the guest printed while the engine waited.
    case output(String)
}

/// One stop as the engine reports it: the classification, the session's
/// view of the target, and what the request counted.
public struct RunReport: Sendable {
    public var classification: StopClassification
    /// The session breakpoint that explains the stop.
    public var breakpoint: Int?
    /// Instructions executed by `stepi`/`step`.
    public var steps: Int?
    /// The CPU (1-based, as the stub numbers threads) that reported the stop, when the stub names one.
    public var cpu: Int?
    public var direction: RunDirection
    /// The instruction count of the stop, when the target replays a recording.
    public var position: UInt64?
    /// The injection (index in the recording's trace) a reverse command stopped at.
    public var injection: Int?
    /// The session's state after the stop.
    public var target: TargetState
    /// One line about how the request was carried out (`step` without line information fell back to
    /// stepping by function), shown after the stop.
    public var note: String?
    /// Innermost inlined frames the stop does not show: a step that stopped on the first instruction
    /// of an inlined call shows the caller's call-site line, as gdb does (`hidingInlined`).
    public var hiddenInlineFrames = 0

    public var event: RunEvent { classification.event }
    public var reason: String { classification.reason }
    /// The stop is not the one asked for (a deadline, a step limit).
    public var isFailure: Bool { classification.event.isFailure }
    public var targetIsGone: Bool { event == .exited || event == .terminated }

    /// `{event, reason, target, breakpoint?, steps?, exitStatus?, signal?, cpu?, note?}` (README "JSON output").
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [("event", .string(event.rawValue)), ("reason", .string(reason))]
        if let status = classification.exitStatus { fields.append(("exitStatus", .int(Int64(status)))) }
        fields.append(("target", target.jsonValue))
        if let breakpoint { fields.append(("breakpoint", .int(Int64(breakpoint)))) }
        if let steps { fields.append(("steps", .int(Int64(steps)))) }
        if let signal = classification.signal { fields.append(("signal", .int(Int64(signal)))) }
        if let cpu { fields.append(("cpu", .int(Int64(cpu)))) }
        if direction == .reverse { fields.append(("direction", .string(direction.rawValue))) }
        if let position { fields.append(("icount", .int(Int64(bitPattern: position)))) }
        if let injection { fields.append(("injection", .int(Int64(injection)))) }
        if let note { fields.append(("note", .string(note))) }
        return .object(fields)
    }

    /// The one line a user reads: `breakpoint 1: stopped at map_page task 3`, `target exited with status 0`.
    public var text: String {
        if targetIsGone { return "target \(reason)" }
        guard let position else { return "\(reason): \(target.summary)" }
        return "\(reason): \(target.summary) (icount \(position)\(direction == .reverse ? ", reverse" : ""))"
    }
}

/// The one run-control engine: every resume, wait and step of the session
/// goes through it: the commands (`continue`, `stepi`, `step`, `finish`,
/// `interrupt`), the fault driver's goal loop, the scenario runner, and
/// later reverse execution and an editor adapter.
///
/// Waiting: `wait` polls the target in short slices against a deadline, the
/// user's interrupt request (Ctrl-C) and an optional condition (a UART line);
/// whatever ends it, the target is stopped again before it returns.
public final class RunControl {
    unowned let session: Session
    private var subscribers: [Int: (RunControlEvent) -> Void] = [:]
    private var nextToken = 0
    /// How long one wait slice lasts: the latency of Ctrl-C, a deadline or a condition.
    public var slice: Double = 0.02
    /// How long an interrupt may take before it is an error.
    public var interruptTimeout: Double = 5

    init(session: Session) { self.session = session }

    // MARK: subscribers

    /// Calls `handler` for every event until `unsubscribe(token)`.
    @discardableResult
    public func subscribe(_ handler: @escaping (RunControlEvent) -> Void) -> Int {
        nextToken += 1
        subscribers[nextToken] = handler
        return nextToken
    }

    public func unsubscribe(_ token: Int) { subscribers[token] = nil }

    func emit(_ event: RunControlEvent) {
        for handler in subscribers.values { handler(event) }
    }

    // MARK: primitives

    /// How a wait ended.
    public enum WaitCause: Equatable, Sendable {
        /// The target stopped by itself.
        case stopped
        /// The user asked for an interrupt (Ctrl-C); the target was interrupted.
        case interruptRequested
        /// The deadline passed; the target was interrupted.
        case deadline
        /// The caller's condition became true; the target was interrupted.
        case conditionMet
    }

    /// Resumes the stopped target (stepping over a stop point at the PC): the
    /// caches go, the state becomes running, subscribers hear `continued`.
    /// `baseline: false` skips the kernel views' page-table capture (what
    /// `pt diff` compares with) for a resume inside one logical step.
    public func resume(_ direction: RunDirection = .forward, baseline: Bool = true) throws(CommandError) {
        let target = try session.requireStoppedTarget(for: direction == .forward ? "continue" : "reverse-continue")
        if baseline { session.kernelViews.targetWillResume() }
        session.extensions[Self.inlineSkipKey] = nil
        // `cpu N` moved the stub's general thread: the step over a breakpoint at the PC must be
        // the stopping CPU's, so give the stub its thread back first.
        if let selected = session.selectedCPU, let stopped = target.lastStopCPU, selected != stopped - 1 {
            try target.selectCPU(stopped)
        }
        try target.resume(direction)
        session.noteResumed()
        emit(.continued(direction))
    }

    /// Waits for the running target to stop. Stops it at `deadline` seconds,
    /// on the user's interrupt request, or once `condition` holds (checked
    /// before the first slice and between slices). Returns why, and the stop;
    /// the session then records the target as stopped (or gone).
    public func wait(deadline seconds: Double?, until condition: (() -> Bool)? = nil)
        throws(CommandError) -> (cause: WaitCause, event: StopEvent) {
        let (cause, event) = try waitForAnyStop(deadline: seconds, until: condition)
        if event.targetIsGone { session.noteGone(event) } else { session.noteStopped(reason: event.summary) }
        return (cause, event)
    }

    private func waitForAnyStop(deadline seconds: Double?, until condition: (() -> Bool)?)
        throws(CommandError) -> (cause: WaitCause, event: StopEvent) {
        let target = try session.requireTarget(for: "waiting for a stop")
        let deadline = seconds.map { Date().addingTimeInterval($0) }
        var printed = session.launchedQEMU?.outputText.utf8.count ?? 0
        while true {
            if let condition, condition() { return (.conditionMet, try settle(target)) }
            if let event = try target.waitForStop(timeout: slice) { return (.stopped, event) }
            if !subscribers.isEmpty, let text = session.launchedQEMU?.outputText, text.utf8.count > printed {
                emit(.output(String(decoding: text.utf8.dropFirst(printed), as: UTF8.self)))
                printed = text.utf8.count
            }
            if session.interruptRequested() { return (.interruptRequested, try settle(target)) }
            if let deadline, Date() >= deadline { return (.deadline, try settle(target)) }
        }
    }

    /// Stops the running target. QEMU may power off between the last check
    /// and the interrupt (the kernel's last lines come right before it): a
    /// launched QEMU that is gone by then has simply exited.
    private func settle(_ target: DebugTarget) throws(CommandError) -> StopEvent {
        do throws(CommandError) {
            return try target.interrupt(timeout: interruptTimeout)
        } catch {
            guard target.runState != .stopped, let qemu = session.launchedQEMU,
                  let status = try? qemu.waitForExit(timeout: 1) else { throw error }
            return .exited(Int(status))
        }
    }

    /// Executes one instruction and returns the stop.
    public func stepInstruction(_ direction: RunDirection = .forward) throws(CommandError) -> StopEvent {
        let target = try session.requireStoppedTarget(for: direction == .forward ? "stepi" : "reverse-stepi")
        session.invalidateCaches()
        session.extensions[Self.inlineSkipKey] = nil
        return try target.stepInstruction(direction)
    }

    /// Classifies `event` and brings the session up to date: state, breakpoint
    /// hit counts, temporary breakpoints removed, subscribers told.
    public func report(_ stopEvent: StopEvent, ending: RunEnding, steps: Int? = nil,
                       direction: RunDirection = .forward) throws(CommandError) -> RunReport {
        let cpu = session.target?.lastStopCPU
        if stopEvent.targetIsGone {
            let event = stopEvent
            session.noteGone(event)
            session.replayPosition = nil
            let report = RunReport(classification: StopClassifier.classify(StopFacts(event: event, ending: ending)),
                                   steps: steps, cpu: cpu, direction: direction, target: session.state)
            emit(.exited(report))
            return report
        }
        session.noteStopped(reason: stopEvent.summary)
        let pc = try session.registerValue("pc")
        let position = session.refreshReplayPosition(direction: direction)
        var event = stopEvent
        var hit: BreakpointTable.Entry?
        switch event {
        case .signal(5): hit = session.breakpoints.recordHit(pc: pc, watchAddress: nil)
        case .watchpoint(_, let address): hit = session.breakpoints.recordHit(pc: pc, watchAddress: address)
        default: break
        }
        if direction == .reverse, hit == nil, case .signal = event {
            if position == 0 {
                // QEMU 7.2 ends a reverse-continue at the start with a plain stop: nothing hit there.
                event = .recordingBoundary(atStart: true)
            } else if ending == .stopped, event == .signal(5),
                      let watch = session.breakpoints.entries.first(where: { $0.kind.isWatchpoint }) {
                // In reverse QEMU 7.2 reports a watchpoint as a plain SIGTRAP (no `watch:` field): a
                // reverse-continue that stops away from every code breakpoint stopped at a watchpoint.
                // With several watchpoints the first is credited (the stub does not say which).
                hit = session.breakpoints.recordHit(pc: pc, watchAddress: watch.address)
                event = .watchpoint(watch.kind, address: watch.address)
            }
        }
        let returnValue = hit?.role == .finishReturn ? try session.registerValue("x0") : nil
        let classification = StopClassifier.classify(StopFacts(event: event, ending: ending, hit: hit,
                                                               returnValue: returnValue))
        if let hit, hit.temporary, let target = session.target {
            _ = session.breakpoints.remove(id: hit.id)
            try target.removeBreakpoint(hit.kind, at: hit.address, length: hit.length)
        }
        try session.refreshStopState(reason: classification.reason)
        var report = RunReport(classification: classification, breakpoint: hit?.id, steps: steps, cpu: cpu,
                               direction: direction, target: session.state)
        report.position = position
        if classification.event != .step {
            // gdb's skip_inline_frames: a stop on an inlined call's first instruction shows the caller
            // (at the call site); a user's breakpoint shows the inlined function unless it was set on
            // the caller by name (gdb's stopped_by_user_bp_inline_frame).
            let showInlined = hit.map { $0.role == .user && session.symbols?.address(of: $0.expression) == nil } ?? false
            report.hiddenInlineFrames = showInlined ? 0 : inlinedCallsBeginning(at: pc)
            rememberHiddenInlineFrames(report.hiddenInlineFrames, at: pc)
        }
        emit(.stopped(report))
        return report
    }

    // MARK: requests

    /// `continue`: resume and wait for the next stop.
    public func continueToStop(timeout: Double?, direction: RunDirection = .forward) throws(CommandError) -> RunReport {
        if !session.replayInjections.isEmpty {
            // A replayed fault scenario: forward re-applies the debugger's writes, reverse stops at them.
            return direction == .forward ? try continueAcrossInjections(timeout: timeout, until: nil)
                                         : try reverseContinueStoppingAtInjections(timeout: timeout)
        }
        try resume(direction)
        return try waitAndReport(timeout: timeout, direction: direction)
    }

    /// Waits for the running target and reports the stop (after `resume`).
    public func waitAndReport(timeout: Double?, direction: RunDirection = .forward) throws(CommandError) -> RunReport {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var (cause, event) = try wait(deadline: timeout)
        // `break … --cpu N`: a hit on another CPU is resumed past, uncounted (gdb's thread-specific breakpoints).
        while cause == .stopped, event == .signal(5), let cpu = session.target?.lastStopCPU,
              session.breakpoints.onlyOtherCPUsBreakAt(pc: try session.registerValue("pc"), cpu: cpu - 1) {
            try resume(direction, baseline: false)
            (cause, event) = try wait(deadline: deadline.map { max(0, $0.timeIntervalSinceNow) })
        }
        // `watch EXPR` (gdb's `watch -l`): as gdb on AArch64, the watchpoint is lifted, the write stepped
        // over and the watchpoint put back; the stop is reported after the write, and only if it changed
        // the value (a write of the same value is passed over).
        while direction == .forward, cause == .stopped, case .watchpoint(.writeWatch, let address) = event,
              let entry = session.breakpoints.entries.first(where: { $0.stopsOnChangeOnly && $0.kind == .writeWatch
                  && address >= $0.address && address < $0.address + UInt64($0.length) }),
              let target = session.target {
            let before = try? session.readVirtualMemory(at: entry.address, count: entry.length)
            try target.removeBreakpoint(entry.kind, at: entry.address, length: entry.length)
            let stepped = try stepInstruction(direction)
            if stepped.targetIsGone { session.noteGone(stepped); event = stepped; break }
            try target.insertBreakpoint(entry.kind, at: entry.address, length: entry.length)
            let after = try? session.readVirtualMemory(at: entry.address, count: entry.length)
            if before == nil || before != after || session.interruptRequested() { break }
            try resume(direction, baseline: false)
            (cause, event) = try wait(deadline: deadline.map { max(0, $0.timeIntervalSinceNow) })
        }
        let ending: RunEnding
        switch cause {
        case .stopped, .conditionMet: ending = .stopped
        case .interruptRequested: ending = .interrupted("interrupted by Ctrl-C")
        case .deadline: ending = .deadline(timeout ?? 0)
        }
        return try report(event, ending: ending, direction: direction)
    }

    /// `stepi N`: N instructions, stopping early at an exit or a Ctrl-C.
    public func stepInstructions(_ count: Int, direction: RunDirection = .forward) throws(CommandError) -> RunReport {
        _ = try session.requireStoppedTarget(for: "stepi")
        session.kernelViews.targetWillResume()
        var event = StopEvent.signal(5)
        var steps = 0
        var interrupted = false
        var barrier: ReplayInjection?
        try session.withProgress("stepping") { () throws(CommandError) in
            while steps < count {
                let before = session.injectionPosition()
                if direction == .reverse, let before, let at = session.injectionBarrier(at: before), at.icount == before {
                    barrier = at  // one step back would cross an injection
                    break
                }
                event = try stepInstruction(direction)
                if event == .recordingBoundary(atStart: true) { break }  // nothing behind: this step did not happen
                steps += 1
                if direction == .forward, !event.targetIsGone { try applyInjectionIfArrived(from: before) }
                if event.targetIsGone { break }
                if session.interruptRequested() { interrupted = true; break }
            }
        }
        if let barrier { return try injectionStop(barrier, steps: steps) }
        let ending: RunEnding = interrupted ? .interrupted("interrupted by Ctrl-C after \(steps) of \(count) steps")
                                            : .stepped(steps)
        return try report(event, ending: ending, steps: steps, direction: direction)
    }

    /// `step` at function granularity: instructions until the PC leaves the
    /// current symbol; `limit` instructions inside it is a `step-limit` stop.
    public func stepOutOfFunction(limit: Int, direction: RunDirection = .forward) throws(CommandError) -> RunReport {
        _ = try session.requireStoppedTarget(for: "step")
        session.kernelViews.targetWillResume()
        let startFunction = session.symbols?.symbolicate(try session.registerValue("pc"))?.name
        var event = StopEvent.signal(5)
        var steps = 0
        var ending: RunEnding?
        var barrier: ReplayInjection?
        try session.withProgress("stepping") { () throws(CommandError) in
            repeat {
                let before = session.injectionPosition()
                if direction == .reverse, let before, let at = session.injectionBarrier(at: before), at.icount == before {
                    barrier = at
                    break
                }
                event = try stepInstruction(direction)
                if event == .recordingBoundary(atStart: true) { ending = .stepped(steps); break }
                steps += 1
                if direction == .forward, !event.targetIsGone { try applyInjectionIfArrived(from: before) }
                if event.targetIsGone { break }
                if session.interruptRequested() { ending = .interrupted("interrupted by Ctrl-C after \(steps) steps"); break }
                guard let startFunction else { ending = .stepped(steps); break }
                if session.symbols?.symbolicate(try session.registerValue("pc"))?.name != startFunction {
                    ending = .stepped(steps)
                    break
                }
            } while steps < limit
        }
        if let barrier { return try injectionStop(barrier, steps: steps) }
        // Still inside the starting function after `limit` instructions: the step did not happen.
        let limitReached = RunEnding.stepLimit("still in \(startFunction ?? "?") after \(steps) instructions (--max \(limit))")
        return try report(event, ending: ending ?? limitReached, steps: steps, direction: direction)
    }

    /// `finish`: a temporary breakpoint at the return address, then continue.
    /// The return address is x30 at a function's first instruction, else the
    /// saved LR of the AAPCS64 frame record at x29 (+8).
    public func finish(timeout: Double?) throws(CommandError) -> RunReport {
        let target = try session.requireStoppedTarget(for: "finish")
        let returnAddress = try self.returnAddress()
        try target.insertBreakpoint(.software, at: returnAddress, length: 4)
        let temporary = session.breakpoints.add(kind: .software, address: returnAddress, length: 4, temporary: true,
                                                expression: "finish", role: .finishReturn)
        // The temporary breakpoint must not outlive the finish, however it ends.
        defer {
            if session.breakpoints.remove(id: temporary.id) != nil, session.state != .running {
                try? session.target?.removeBreakpoint(.software, at: returnAddress, length: 4)
            }
        }
        return try continueToStop(timeout: timeout)
    }

    /// `interrupt`: stop a target left running.
    public func interrupt() throws(CommandError) -> RunReport {
        let target = try session.requireTarget(for: "interrupt")
        guard session.state == .running else { throw .failed("the target is not running") }
        return try report(try settle(target), ending: .interrupted("interrupted"))
    }
}
