import DebugInfo
import Foundation

/// What the line-stepping engine asks about PCs: the ELF's DWARF in a session,
/// a table of made-up rows in tests (`FakeLines`).
public protocol LineStepOracle: AnyObject {
    /// The row, inlined scopes and function at `pc`; nil: no line information there.
    func stepPosition(at pc: UInt64) -> LineStepPosition?
    /// Where a step into the function that begins at `entry` stops (after its prologue, as `break FUNCTION`).
    func postPrologueAddress(entry: UInt64) -> UInt64
    /// The first address with a source line of a function whose entry has none (line 0); nil: none.
    func firstLineAddress(entry: UInt64) -> UInt64?
}

extension LineStepOracle {
    public func firstLineAddress(entry: UInt64) -> UInt64? { nil }
}

extension DebugInfoFile: LineStepOracle {}

/// The source-line run-control requests.
public enum LineStepKind: String, Sendable {
    /// To the start of the next line: into calls that have line information, over the others.
    case step
    /// To the start of the next line in this frame: over calls.
    case next
    /// `next` that never goes backwards: the range runs from the function's entry to the line's end.
    case until
    /// `finish` in an inlined frame: `next` until the PC leaves the inlined function.
    case finishInlined = "finish"
}

extension Session {
    /// What line stepping reads: the one a test installed, else the ELF's DWARF; nil without either.
    public var lineStepOracle: LineStepOracle? {
        get {
            if let oracle = extensions["run.lineOracle"] as? LineStepOracle { return oracle }
            guard symbols != nil, let info = try? debugInfo(for: "step"), info.hasDebugInfo else { return nil }
            return info
        }
        set { extensions["run.lineOracle"] = newValue }
    }
}

extension RunControl {
    /// `step`, `next`, `until` (no argument) and `finish` out of an inlined frame, by source line, as gdb does:
    ///
    /// - single steps while the PC stays in the current line's range (`[start, end)` of its row);
    /// - a call (a `bl`/`blr` just ran: x30 = the call + 4) is run over with a temporary breakpoint at the
    ///   return address and a continue, until that breakpoint is hit with SP back at the caller's
    ///   (a deeper recursive call hitting it first is continued); `step` goes into a callee that has line
    ///   information instead, to the end of its prologue;
    /// - the step ends at the first instruction of a row of another line that is a statement; a row of
    ///   another line that is no statement is stepped through in the same frame; a stop in the middle of a
    ///   row (a return to the caller, a jump into a line) adopts that line and goes on;
    /// - entering an inlined function: `step` stops there; `next` stops at its call site when that is on
    ///   another line, else runs through it.
    ///
    /// Without line information at the PC it falls back to `stepOutOfFunction` and says so (`note`).
    /// `limit` bounds the instructions single-stepped; `timeout` each continue over a call.
    public func stepLine(_ kind: LineStepKind, limit: Int, timeout: Double?,
                         direction: RunDirection = .forward) throws(CommandError) -> RunReport {
        let command = kind.rawValue
        _ = try session.requireStoppedTarget(for: direction == .forward ? command : "reverse-\(command)")
        guard direction == .forward else {
            throw .unavailable("reverse-\(command): stepping backwards by line is not implemented (reverse-stepi goes back one instruction where the target can)")
        }
        var registers = try stepRegisters()
        guard let oracle = session.lineStepOracle, let start = oracle.stepPosition(at: registers.pc) else {
            guard kind != .finishInlined else { throw .failed("finish: no line information at \(Hex.format(registers.pc))") }
            var report = try stepOutOfFunction(limit: limit, direction: direction)
            report.note = "no line information at \(session.symbols?.describe(registers.pc) ?? Hex.format(registers.pc)): stepped until the function changed"
            return report
        }
        let hidden = hiddenInlineFrames(at: registers.pc)
        if hidden > 0 && kind == .step {
            // At an inlined call's first instruction the caller was shown: `step` goes down into the
            // inlined function without running an instruction, as gdb's does.
            var report = try report(.signal(5), ending: .stepped(0), steps: 0, direction: direction)
            report.hiddenInlineFrames = hidden - 1
            rememberHiddenInlineFrames(hidden - 1, at: registers.pc)
            return report
        }
        session.kernelViews.targetWillResume()
        var line = start.row.location
        var range = start.row.start..<max(start.row.end, start.row.start &+ 1)
        if kind == .until, let entry = start.functionEntry, entry < range.lowerBound { range = entry..<range.upperBound }
        var scopes = start.inlinedScopes
        if hidden > 0 {
            // The frame shown is the caller of the hidden inlined calls, at their call site.
            scopes = Array(start.inlinedScopes.dropFirst(hidden))
            line = start.callSites[hidden - 1] ?? line
        }
        var landingHidden = 0
        /// The inlined calls that begin at `pc` and are not part of the frame being stepped: shown as their call site.
        func beginning(at pc: UInt64, _ position: LineStepPosition, outside frame: [UInt64]) -> Int {
            position.inlinedScopes.indices.prefix { position.scopeStarts($0, at: pc) && !frame.contains(position.inlinedScopes[$0]) }.count
        }
        var function = start.functionEntry
        let leaving = kind == .finishInlined ? start.inlinedScopes.first : nil
        if kind == .finishInlined && leaving == nil { throw .failed("finish: the selected frame is not an inlined function") }
        var steps = 0
        var event = StopEvent.signal(5)
        var ending: RunEnding?
        try session.withProgress("stepping") { () throws(CommandError) in
            while true {
                if steps >= limit {
                    ending = .stepLimit("still at \(SourcePaths.display(line)) after \(steps) instructions (--max \(limit))")
                    return
                }
                if session.interruptRequested() { ending = .interrupted("interrupted by Ctrl-C after \(steps) steps"); return }
                let previous = registers
                event = try stepInstruction(direction)
                steps += 1
                guard case .signal(5) = event else { ending = .stopped; return }
                registers = try stepRegisters()
                // A call just ran: into it (step, line information there) or over it.
                if registers.x30 == previous.pc &+ 4 && registers.pc != previous.pc &+ 4 {
                    // A callee whose first rows say "no line" (a compiler-made prologue) is entered at its first line.
                    let lineless = oracle.stepPosition(at: registers.pc) == nil
                        ? oracle.firstLineAddress(entry: registers.pc).flatMap { $0 > registers.pc ? $0 : nil } : nil
                    if kind == .step, let callee = oracle.stepPosition(at: lineless ?? registers.pc) {
                        let entry = callee.functionEntry ?? registers.pc
                        let body = lineless ?? (registers.pc == entry ? oracle.postPrologueAddress(entry: entry) : registers.pc)
                        if body != registers.pc {
                            let run = try runToBreakpoint(at: body, timeout: timeout) { _ in true }
                            event = run.event
                            if let stop = run.ending { ending = stop; return }
                        }
                        if let landed = oracle.stepPosition(at: body) { landingHidden = beginning(at: body, landed, outside: []) }
                        ending = .stepped(steps)
                        return
                    }
                    let run = try runToBreakpoint(at: previous.pc &+ 4, timeout: timeout) { sp in sp >= previous.sp }
                    event = run.event
                    if let stop = run.ending { ending = stop; return }
                    registers = try stepRegisters()
                }
                if range.contains(registers.pc) { continue }
                guard let here = oracle.stepPosition(at: registers.pc) else {
                    // No line information here (returned into assembly): stop, as gdb does.
                    ending = .stepped(steps)
                    return
                }
                if let leaving {
                    if !here.inlinedScopes.contains(leaving) { ending = .stepped(steps); return }
                    continue
                }
                let sameFunction = here.functionEntry == function
                // Deeper in inlined functions of the same frame.
                let newDepth = here.inlinedScopes.count - scopes.count
                if sameFunction, newDepth > 0, Array(here.inlinedScopes.suffix(scopes.count)) == scopes {
                    let starting = beginning(at: registers.pc, here, outside: scopes)
                    if kind == .step { landingHidden = max(0, starting - 1); ending = .stepped(steps); return }
                    let outermostNew = newDepth - 1
                    if here.scopeStarts(outermostNew, at: registers.pc), let site = here.callSites[outermostNew],
                       site.line != line.line || site.file != line.file {
                        landingHidden = starting
                        ending = .stepped(steps)
                        return
                    }
                    continue
                }
                let differentLine = here.row.location.line != line.line || here.row.location.file != line.file
                if registers.pc == here.row.start && differentLine {
                    // Not a statement: step on through it in the same frame; another frame stops here.
                    if !here.row.isStatement && sameFunction && here.inlinedScopes == scopes { continue }
                    landingHidden = beginning(at: registers.pc, here, outside: scopes)
                    ending = .stepped(steps)
                    return
                }
                // The middle of a row (back in a caller, or a jump into a line), or the same line again:
                // that row is the line being stepped now.
                line = here.row.location
                range = here.row.start..<max(here.row.end, here.row.start &+ 1)
                scopes = here.inlinedScopes
                function = here.functionEntry
            }
        }
        var report = try report(event, ending: ending ?? .stepped(steps), steps: steps, direction: direction)
        if kind == .finishInlined, !report.isFailure { report.note = "out of the inlined function" }
        if report.event == .step, landingHidden > 0, case .stopped(let pc, _, _, _) = report.target {
            report.hiddenInlineFrames = landingHidden
            rememberHiddenInlineFrames(landingHidden, at: pc)
        }
        return report
    }

    static let inlineSkipKey = "run.inlineSkip"

    final class InlineSkip {
        let pc: UInt64
        let hidden: Int
        init(pc: UInt64, hidden: Int) {
            self.pc = pc
            self.hidden = hidden
        }
    }

    /// How many innermost inlined frames the current stop hides (see `RunReport.hiddenInlineFrames`);
    /// forgotten when the target resumes or steps.
    public func hiddenInlineFrames(at pc: UInt64) -> Int {
        guard let skip = session.extensions[Self.inlineSkipKey] as? InlineSkip, skip.pc == pc else { return 0 }
        return skip.hidden
    }

    /// The innermost inlined calls whose code begins at `pc` (gdb's `block_starting_point_at`).
    func inlinedCallsBeginning(at pc: UInt64) -> Int {
        guard let position = session.lineStepOracle?.stepPosition(at: pc) else { return 0 }
        return position.inlinedScopes.indices.prefix { position.scopeStarts($0, at: pc) }.count
    }

    func rememberHiddenInlineFrames(_ hidden: Int, at pc: UInt64) {
        session.extensions[Self.inlineSkipKey] = hidden > 0 ? InlineSkip(pc: pc, hidden: hidden) : nil
    }

    /// `nexti N`: N instructions, a call counting as one (run to its return address in this frame).
    public func nextInstructions(_ count: Int, timeout: Double?, direction: RunDirection = .forward) throws(CommandError) -> RunReport {
        _ = try session.requireStoppedTarget(for: direction == .forward ? "nexti" : "reverse-nexti")
        guard direction == .forward else {
            throw .unavailable("reverse-nexti: stepping backwards over calls is not implemented (reverse-stepi goes back one instruction where the target can)")
        }
        session.kernelViews.targetWillResume()
        var event = StopEvent.signal(5)
        var steps = 0
        var ending: RunEnding?
        try session.withProgress("stepping") { () throws(CommandError) in
            var registers = try stepRegisters()
            while steps < count {
                if session.interruptRequested() { ending = .interrupted("interrupted by Ctrl-C after \(steps) of \(count) steps"); return }
                let previous = registers
                event = try stepInstruction(direction)
                steps += 1
                guard case .signal(5) = event else { ending = .stopped; return }
                registers = try stepRegisters()
                if registers.x30 == previous.pc &+ 4 && registers.pc != previous.pc &+ 4 {
                    let run = try runToBreakpoint(at: previous.pc &+ 4, timeout: timeout) { sp in sp >= previous.sp }
                    event = run.event
                    if let stop = run.ending { ending = stop; return }
                    registers = try stepRegisters()
                }
            }
        }
        return try report(event, ending: ending ?? .stepped(steps), steps: steps, direction: direction)
    }

    /// `advance LOCATION` / `until LOCATION`: run until `address`, or until the current function returns
    /// (a temporary breakpoint at its return address, hit with SP above this frame's).
    /// `thisFrame` (`until`): a hit at `address` in a deeper frame (recursion) is continued.
    public func advance(to address: UInt64, thisFrame: Bool, timeout: Double?) throws(CommandError) -> RunReport {
        _ = try session.requireStoppedTarget(for: thisFrame ? "until" : "advance")
        let start = try stepRegisters()
        let caller = try returnAddress()
        var points = [address]
        if caller != address { points.append(caller) }
        let run = try runToBreakpoints(points, timeout: timeout) { pc, sp in
            if pc == address && (!thisFrame || sp >= start.sp) { return true }
            return pc == caller && sp > start.sp
        }
        return try report(run.event, ending: run.ending ?? .stepped(1))
    }

    // MARK: pieces

    struct StepRegisters {
        var pc: UInt64
        var sp: UInt64
        var x30: UInt64
    }

    func stepRegisters() throws(CommandError) -> StepRegisters {
        let target = try session.requireStoppedTarget(for: "step")
        let values = try target.readRegisters(["pc", "sp", "x30"])
        return StepRegisters(pc: values[0], sp: values[1], x30: values[2])
    }

    /// The current function's return address: x30 at its first instruction, else the saved LR
    /// of the AAPCS64 frame record at x29 (+8).
    func returnAddress() throws(CommandError) -> UInt64 {
        let pc = try session.registerValue("pc")
        if let (_, offset) = session.symbols?.symbolicate(pc), offset == 0 { return try session.registerValue("x30") }
        let frame = try session.registerValue("x29")
        // x29 comes from the guest: read through the device-memory guard.
        return try session.readVirtualMemory(at: frame &+ 8, count: 8).littleEndianUInt64(at: 0)
    }

    /// Continues to a temporary breakpoint at `address` until a hit there satisfies `accept(sp)`.
    /// `ending` is nil when it got there; otherwise the stop that came first (a user breakpoint, a
    /// watchpoint, Ctrl-C, the deadline) and how it ended.
    func runToBreakpoint(at address: UInt64, timeout: Double?,
                         accept: (UInt64) -> Bool) throws(CommandError) -> (event: StopEvent, ending: RunEnding?) {
        try runToBreakpoints([address], timeout: timeout) { _, sp in accept(sp) }
    }

    func runToBreakpoints(_ addresses: [UInt64], timeout: Double?,
                          accept: (UInt64, UInt64) -> Bool) throws(CommandError) -> (event: StopEvent, ending: RunEnding?) {
        let target = try session.requireStoppedTarget(for: "step")
        // A user's breakpoint already there serves; only the missing ones are inserted (and removed after).
        let inserted = Array(Set(addresses)).filter { address in
            !session.breakpoints.entries.contains { !$0.kind.isWatchpoint && $0.address == address }
        }
        for address in inserted { try target.insertBreakpoint(.software, at: address, length: 4) }
        defer {
            if session.state != .running, session.target?.runState == .stopped {
                for address in inserted { try? session.target?.removeBreakpoint(.software, at: address, length: 4) }
            }
        }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while true {
            try resume(.forward, baseline: false)
            let remaining = deadline.map { max(0, $0.timeIntervalSinceNow) }
            let (cause, event) = try wait(deadline: remaining)
            switch cause {
            case .interruptRequested: return (event, .interrupted("interrupted by Ctrl-C"))
            case .deadline: return (event, .deadline(timeout ?? 0))
            case .stopped, .conditionMet: break
            }
            guard case .signal(5) = event else { return (event, .stopped) }
            let registers = try stepRegisters()
            guard addresses.contains(registers.pc) else { return (event, .stopped) }
            // A user's breakpoint at the same place is a stop of its own.
            if session.breakpoints.entries.contains(where: { !$0.kind.isWatchpoint && $0.address == registers.pc && $0.role == .user }),
               !inserted.contains(registers.pc) { return (event, .stopped) }
            if accept(registers.pc, registers.sp) { return (event, nil) }
        }
    }
}
