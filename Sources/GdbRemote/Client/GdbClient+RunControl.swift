import Foundation

/// Run control. QEMU (like most stubs) re-reports a breakpoint or watchpoint at
/// the current PC forever if you simply continue, so before every resume the
/// client steps over it: remove, single-step, re-insert. A watchpoint on
/// AArch64 stops before the access, so the same applies after a watch stop.
extension GdbClient {
    /// Resumes the target (`c`, or `vCont;c:<thread>`) and returns at once; the state
    /// becomes `running`. Steps over a breakpoint or watchpoint at the PC first.
    public func resume(thread: ThreadID? = nil) throws(GdbError) {
        try locked { () throws(GdbError) in
            if let stop = try stepOverStopPoint(thread: thread), stop.hasExited || stop.signal != StopReason.sigtrap {
                return  // the step itself ended the run (exit, fault): report it from waitForStop
            }
            let packet = Packet.runControl(thread.map { .vCont(.continue, thread: $0, multiprocess: multiprocess) } ?? .continue)
            if thread != nil, !vContActions.contains("c") {
                throw error(.unsupported, "resume", packet: packet.description)
            }
            resumeGeneration = stopGeneration
            try connection.sendResume(packet, operation: "resume")
        }
    }

    /// Waits for the target to stop and returns why. Throws `.timedOut` if it is
    /// still running at the deadline (it keeps running; call `interrupt`).
    public func waitForStop(timeout: Double) throws(GdbError) -> StopReason {
        let deadline = Deadline.after(seconds: timeout)
        while true {
            let result: StopReason? = try locked { () throws(GdbError) -> StopReason? in
                if stopGeneration > resumeGeneration, let lastStop { return lastStop }
                let state = connection.state
                guard state == .running || state == .interrupting else {
                    throw error(.invalidState(state), "waitForStop")
                }
                // Short slices so `interrupt` from another thread can take the lock.
                let slice = deadline.earlier(.after(seconds: 0.05))
                guard let body = try connection.waitForStop(until: slice, operation: "waitForStop") else { return nil }
                return try record(stop: body, operation: "waitForStop")
            }
            if let result { return result }
            if deadline.hasPassed {
                throw error(.timedOut(seconds: timeout), "waitForStop")
            }
            while !interruptQueue.isEmpty && !deadline.hasPassed { usleep(200) }
        }
    }

    /// Resumes and waits for the next stop. If the target is still running at the
    /// deadline it is interrupted (so it is stopped again) and `.timedOut` is thrown.
    public func continueAndWait(timeout: Double, thread: ThreadID? = nil) throws(GdbError) -> StopReason {
        try resume(thread: thread)
        do throws(GdbError) {
            return try waitForStop(timeout: timeout)
        } catch {
            if case .timedOut = error.kind, state == .running { _ = try? interrupt(timeout: self.timeout) }
            throw error
        }
    }

    /// Executes one instruction (`s`, or `vCont;s:<thread>` which holds the other vCPUs)
    /// and returns the stop. Steps over a breakpoint at the PC transparently.
    public func step(thread: ThreadID? = nil, timeout: Double? = nil) throws(GdbError) -> StopReason {
        try locked { () throws(GdbError) -> StopReason in
            if let stop = try stepOverStopPoint(thread: thread) { return stop }
            return try rawStep(thread: thread, timeout: timeout ?? connection.replyTimeout)
        }
    }

    /// True when the stub replays a recording and can run backwards (`ReverseStep+` and
    /// `ReverseContinue+` in `qSupported`: QEMU under `-icount …,rr=replay`).
    public var canReverse: Bool { features.supports("ReverseStep") && features.supports("ReverseContinue") }

    /// Runs backwards (`bc`) and returns at once; the state becomes `running`. The stop
    /// (from `waitForStop`) is the previous breakpoint or watchpoint hit, or the start of
    /// the recording (`replayBoundary == .begin`). No step-over: a replaying stub only
    /// reports hits strictly before the position it starts from.
    public func reverseResume() throws(GdbError) {
        try locked { () throws(GdbError) in
            guard features.supports("ReverseContinue") else { throw error(.unsupported, "reverseResume", packet: "bc") }
            resumeGeneration = stopGeneration
            reverseInFlight = true
            try connection.sendResume(.runControl(.reverseContinue), operation: "reverse-continue")
        }
    }

    /// Executes one instruction backwards (`bs`) and returns the stop; at the start of
    /// the recording the stop says so (`replayBoundary == .begin`) and nothing moved.
    public func reverseStep(timeout: Double? = nil) throws(GdbError) -> StopReason {
        try locked { () throws(GdbError) -> StopReason in
            guard features.supports("ReverseStep") else { throw error(.unsupported, "reverseStep", packet: "bs") }
            let packet = Packet.runControl(.reverseStep)
            resumeGeneration = stopGeneration
            reverseInFlight = true
            try connection.sendResume(packet, operation: "reverse-step")
            let seconds = timeout ?? connection.replyTimeout
            guard let body = try connection.waitForStop(until: .after(seconds: seconds), operation: "reverse-step") else {
                _ = try? interrupt(timeout: connection.replyTimeout)
                throw error(.timedOut(seconds: seconds), "reverse-step", packet: packet.description)
            }
            return try record(stop: body, operation: "reverse-step")
        }
    }

    /// Stops a running target (0x03) and returns the stop reply (SIGINT on QEMU).
    /// On a stopped target it returns the last stop without sending anything.
    public func interrupt(timeout: Double = 2) throws(GdbError) -> StopReason {
        interruptQueue.enter()
        defer { interruptQueue.leave() }
        return try locked { () throws(GdbError) -> StopReason in
            let state = connection.state
            if state == .stopped, let lastStop { return lastStop }
            if state == .stopped { return StopReason(kind: .signal(0)) }
            guard state == .running || state == .interrupting else { throw error(.invalidState(state), "interrupt") }
            if stopGeneration > resumeGeneration, let lastStop { return lastStop }
            reverseInFlight = false  // the SIGINT that answers is ours, not the start of the recording
            try connection.sendInterrupt(operation: "interrupt")
            let deadline = Deadline.after(seconds: timeout)
            guard let body = try connection.waitForStop(until: deadline, operation: "interrupt") else {
                throw error(.timedOut(seconds: timeout), "interrupt", packet: "^C")
            }
            return try record(stop: body, operation: "interrupt")
        }
    }

    /// Asks why the target is stopped (`?`). Careful: QEMU deletes the current
    /// CPU's breakpoints when it answers this.
    public func queryStopReason() throws(GdbError) -> StopReason {
        try locked { () throws(GdbError) -> StopReason in
            let reply = try connection.exchange(.runControl(.stopReason), operation: "queryStopReason")
            return try record(stop: reply, operation: "queryStopReason")
        }
    }

    // MARK: internals

    /// Parses and remembers a stop reply.
    func record(stop body: [UInt8], operation: String) throws(GdbError) -> StopReason {
        let reverse = reverseInFlight
        reverseInFlight = false
        if reverse, let boundary = Self.replayBoundary(answering: body, lastThread: lastStop?.thread) {
            return remember(boundary)
        }
        guard let reason = StopReason(packet: body) else {
            throw error(.malformedReply("not a stop reply: \(String(decoding: body.prefix(40), as: UTF8.self))"), operation)
        }
        return remember(reason)
    }

    /// How QEMU 7.2 (which sends no `replaylog:` field) answers a reverse command at the
    /// start of its recording: `E14` when there is nothing before the current position
    /// (nothing moved), a SIGINT it sent by itself when `bc` ran back to the start.
    /// Nil for any other reply (a real stop, parsed as usual).
    static func replayBoundary(answering body: [UInt8], lastThread: ThreadID?) -> StopReason? {
        if body.first == UInt8(ascii: "E"), body.count == 3 {
            return StopReason(kind: .signal(StopReason.sigtrap), thread: lastThread, replayBoundary: .begin)
        }
        guard var reason = StopReason(packet: body), reason.replayBoundary == nil,
              reason.signal == StopReason.sigint, reason.watchpoint == nil else { return nil }
        reason.replayBoundary = .begin
        return reason
    }

    private func remember(_ reason: StopReason) -> StopReason {
        lastStop = reason
        stopGeneration += 1
        selectedGeneralThread = nil  // the stub points Hg at the stopping thread
        invalidateStopCaches()
        return reason
    }

    private func rawStep(thread: ThreadID?, timeout: Double) throws(GdbError) -> StopReason {
        let packet: Packet
        if let thread {
            guard vContActions.contains("s") else { throw error(.unsupported, "step", packet: "vCont;s") }
            packet = .runControl(.vCont(.step, thread: thread, multiprocess: multiprocess))
        } else {
            packet = .runControl(.step)
        }
        resumeGeneration = stopGeneration
        try connection.sendResume(packet, operation: "step")
        let deadline = Deadline.after(seconds: timeout)
        guard let body = try connection.waitForStop(until: deadline, operation: "step") else {
            _ = try? interrupt(timeout: connection.replyTimeout)
            throw error(.timedOut(seconds: timeout), "step", packet: packet.description)
        }
        return try record(stop: body, operation: "step")
    }

    /// If the last stop was a watchpoint, or a breakpoint sits at the PC, lifts
    /// those, steps one instruction and puts them back. Returns the step's stop,
    /// or nil if nothing needed stepping over.
    private func stepOverStopPoint(thread: ThreadID?) throws(GdbError) -> StopReason? {
        guard !insertedBreakpoints.isEmpty, connection.state == .stopped else { return nil }
        var lifted: [Breakpoint] = []
        if lastStop?.watchpoint != nil {
            lifted = insertedBreakpoints.filter { $0.kind.isWatchpoint }
        }
        let codeBreakpoints = insertedBreakpoints.filter { !$0.kind.isWatchpoint }
        if !codeBreakpoints.isEmpty {
            let stepThread = thread ?? lastStop?.thread
            let pc = try readRegister("pc", thread: stepThread)
            lifted += codeBreakpoints.filter { $0.covers(pc) }
        }
        guard !lifted.isEmpty else { return nil }
        for b in lifted { try removeBreakpoint(b.kind, at: b.address, length: b.length) }
        let stop: StopReason
        do throws(GdbError) {
            stop = try rawStep(thread: thread ?? lastStop?.thread.flatMap { vContActions.contains("s") ? $0 : nil },
                               timeout: connection.replyTimeout)
        } catch {
            for b in lifted where connection.state == .stopped { try? setBreakpoint(b.kind, at: b.address, length: b.length) }
            throw error
        }
        if !stop.hasExited {
            for b in lifted { try setBreakpoint(b.kind, at: b.address, length: b.length) }
        }
        return stop
    }
}
