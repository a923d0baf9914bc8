import Foundation

/// `continue`, `stepi`, `step`, `finish`, `interrupt`.
enum RunControlCommands {
    static var all: [CommandSpec] { [continueCommand, stepi, step, finish, interrupt] }

    static let timeoutOption = OptionSpec("timeout", value: "SECONDS",
                                          help: "interrupt the target if it has not stopped by then (default: none at the prompt, 30 s in batch mode)")

    static let continueCommand = CommandSpec(
        name: "continue", aliases: ["c", "cont"], group: "run control",
        summary: "resume the target until a breakpoint, a watchpoint, Ctrl-C or the deadline",
        usage: "continue [--timeout SECONDS] [--no-wait]",
        details: "At the prompt, Ctrl-C while the target runs interrupts the target (not mmdbg).\nWith --no-wait the prompt comes back at once; `interrupt` stops the target later.",
        examples: ["continue", "continue --timeout 5", "continue --no-wait"],
        options: [timeoutOption, OptionSpec("no-wait", help: "return at once, leaving the target running")]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let timeout = try timeoutValue(args, session)
        let target = try session.requireStoppedTarget(for: "continue")
        session.kernelViews?.targetWillResume()
        try target.resume()
        session.noteResumed()
        if args.flag("no-wait") {
            return .message("running", json: .object([("target", session.state.jsonValue)]))
        }
        return try waitAndReport(target, session, timeout: timeout)
    }

    static let stepi = CommandSpec(
        name: "stepi", aliases: ["si"], group: "run control",
        summary: "execute COUNT machine instructions (default 1)",
        usage: "stepi [COUNT]",
        examples: ["stepi", "stepi 10"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let count = args.positionals.isEmpty ? 1 : try args.count(at: 0, in: 1...1_000_000, name: "COUNT")
        let target = try session.requireStoppedTarget(for: "stepi")
        session.kernelViews?.targetWillResume()
        var event = StopEvent.signal(5)
        try session.withProgress("stepping") { () throws(CommandError) in
            for _ in 0..<count {
                session.invalidateCaches()
                event = try target.stepInstruction()
                if event.targetIsGone || session.interruptRequested() { break }
            }
        }
        return try report(event, session, steps: count)
    }

    static let step = CommandSpec(
        name: "step", aliases: ["s"], group: "run control",
        summary: "step instructions until the PC is in another function (a call or a return)",
        usage: "step [--max N]",
        details: "The kernel has no line tables, so `step` works at function granularity: it single-steps\nuntil the PC leaves the current symbol. Without an ELF it is `stepi`.",
        examples: ["step", "step --max 500"],
        options: [OptionSpec("max", value: "N", help: "give up after N instructions (default 100000)")]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let limit = try args.countOption("max", in: 1...10_000_000) ?? 100_000
        let target = try session.requireStoppedTarget(for: "step")
        session.kernelViews?.targetWillResume()
        let startFunction = session.symbols?.symbolicate(try session.registerValue("pc"))?.name
        var event = StopEvent.signal(5)
        var steps = 0
        try session.withProgress("stepping") { () throws(CommandError) in
            repeat {
                session.invalidateCaches()
                event = try target.stepInstruction()
                steps += 1
                if event.targetIsGone || session.interruptRequested() || startFunction == nil { break }
                let function = session.symbols?.symbolicate(try session.registerValue("pc"))?.name
                if function != startFunction { break }
            } while steps < limit
        }
        return try report(event, session, steps: steps)
    }

    static let finish = CommandSpec(
        name: "finish", group: "run control",
        summary: "run until the current function returns",
        usage: "finish [--timeout SECONDS]",
        details: "The return address is x30 at a function's first instruction, else the saved LR of the\nAAPCS64 frame record at x29 (+8). A temporary breakpoint is placed there.",
        examples: ["break map_page", "continue", "finish"],
        options: [timeoutOption]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let timeout = try timeoutValue(args, session)
        let target = try session.requireStoppedTarget(for: "finish")
        let pc = try session.registerValue("pc")
        let returnAddress: UInt64
        if let (_, offset) = session.symbols?.symbolicate(pc), offset == 0 {
            returnAddress = try session.registerValue("x30")
        } else {
            let frame = try session.registerValue("x29")
            // x29 comes from the guest: read through the device-memory guard.
            let saved = try session.readVirtualMemory(at: frame &+ 8, count: 8)
            returnAddress = saved.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        try target.insertBreakpoint(.software, at: returnAddress, length: 4)
        let temporary = session.breakpoints.add(kind: .software, address: returnAddress, length: 4, temporary: true,
                                                expression: "finish")
        // The temporary breakpoint must not outlive the finish, however it ends.
        defer {
            if session.breakpoints.remove(id: temporary.id) != nil, session.state != .running {
                try? session.target?.removeBreakpoint(.software, at: returnAddress, length: 4)
            }
        }
        session.kernelViews?.targetWillResume()
        try target.resume()
        session.noteResumed()
        return try waitAndReport(target, session, timeout: timeout)
    }

    static let interrupt = CommandSpec(
        name: "interrupt", group: "run control",
        summary: "stop a running target (after `continue --no-wait`)",
        usage: "interrupt"
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let target = try session.requireTarget(for: "interrupt")
        guard session.state == .running else { throw .failed("the target is not running") }
        let event = try target.interrupt(timeout: 5)
        return try report(event, session, steps: nil)
    }

    // MARK: shared

    static func timeoutValue(_ args: CommandArguments, _ session: Session) throws(CommandError) -> Double? {
        try args.secondsOption("timeout") ?? (session.interactive ? nil : session.runTimeout)
    }

    /// Waits for the running target to stop, interrupting it on Ctrl-C or at the deadline.
    static func waitAndReport(_ target: DebugTarget, _ session: Session, timeout: Double?) throws(CommandError) -> CommandOutput {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        var note: String?
        while true {
            if let event = try target.waitForStop(timeout: 0.05) {
                return try report(event, session, steps: nil, note: note)
            }
            if session.interruptRequested() {
                note = "interrupted by Ctrl-C"
                return try report(try target.interrupt(timeout: 5), session, steps: nil, note: note)
            }
            if let deadline, let timeout, Date() >= deadline {
                note = "still running after \(timeout) s: interrupted"
                return try report(try target.interrupt(timeout: 5), session, steps: nil, note: note)
            }
        }
    }

    /// Updates the session after a stop and describes it.
    static func report(_ event: StopEvent, _ session: Session, steps: Int?, note: String? = nil) throws(CommandError) -> CommandOutput {
        if event.targetIsGone {
            session.noteGone(event)
            return .message("target \(event.summary)", json: .object([("event", .string(event.summary)),
                                                                    ("target", session.state.jsonValue)]))
        }
        var reason = note ?? event.summary
        session.noteStopped(reason: reason)
        var hit: BreakpointTable.Entry?
        let pc = try session.registerValue("pc")
        if case .signal(5) = event {
            hit = session.breakpoints.recordHit(pc: pc, watchAddress: nil)
        } else if case .watchpoint(_, let address) = event {
            hit = session.breakpoints.recordHit(pc: pc, watchAddress: address)
        }
        if let hit {
            if hit.temporary && hit.expression == "finish" {
                reason = "returned (x0 = \(Hex.format(try session.registerValue("x0"))))"
            } else {
                reason = (hit.kind.isWatchpoint ? "watchpoint" : "breakpoint") + " \(hit.id)" + (note.map { ", \($0)" } ?? "")
            }
            if hit.temporary, let target = session.target {
                _ = session.breakpoints.remove(id: hit.id)
                try target.removeBreakpoint(hit.kind, at: hit.address, length: hit.length)
            }
        } else if let steps {
            reason = steps == 1 ? "step" : "\(steps) steps"
        }
        try session.refreshStopState(reason: reason)
        let stateText = session.state.summary
        var json: [(String, JSONValue)] = [("event", .string(event.summary)), ("reason", .string(reason)),
                                           ("target", session.state.jsonValue)]
        if let hit { json.append(("breakpoint", .int(Int64(hit.id)))) }
        if let steps { json.append(("steps", .int(Int64(steps)))) }
        return .message("\(reason): \(stateText)", json: .object(json))
    }
}
