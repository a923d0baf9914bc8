import Foundation

/// `continue`, `stepi`, `step`, `finish`, `interrupt`.
enum RunControlCommands {
    static var all: [CommandSpec] { [continueCommand, stepi, step, finish, interrupt] }

    static let timeoutOption = OptionSpec("timeout", value: "SECONDS",
                                          help: "interrupt the target and fail if it has not stopped by then (default: none at the prompt, 30 s in batch mode)")

    static let continueCommand = CommandSpec(
        name: "continue", aliases: ["c", "cont"], group: "run control",
        summary: "resume the target until a breakpoint, a watchpoint, Ctrl-C or the deadline",
        usage: "continue [--timeout SECONDS] [--no-wait]",
        details: "At the prompt, Ctrl-C while the target runs interrupts the target (not mmdbg).\nWith --no-wait the prompt comes back at once; `interrupt`, or Ctrl-C at the prompt, stops the target later.",
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
            return .message("running", json: .object([("event", .string(RunEvent.running.rawValue)),
                                                      ("reason", .string("resumed without waiting")),
                                                      ("target", session.state.jsonValue)]))
        }
        return try waitAndReport(target, session, timeout: timeout, command: "continue")
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
        var steps = 0
        var interrupted = false
        try session.withProgress("stepping") { () throws(CommandError) in
            while steps < count {
                session.invalidateCaches()
                event = try target.stepInstruction()
                steps += 1
                if event.targetIsGone { break }
                if session.interruptRequested() { interrupted = true; break }
            }
        }
        let ending: Ending = interrupted ? .interrupted("interrupted by Ctrl-C after \(steps) of \(count) steps")
                                         : .stepped(steps)
        return try report(event, session, ending: ending, command: "stepi", steps: steps)
    }

    static let step = CommandSpec(
        name: "step", aliases: ["s"], group: "run control",
        summary: "step instructions until the PC is in another function (a call or a return)",
        usage: "step [--max N]",
        details: "The kernel has no line tables, so `step` works at function granularity: it single-steps\nuntil the PC leaves the current symbol. Without an ELF it is `stepi`.",
        examples: ["step", "step --max 500"],
        options: [OptionSpec("max", value: "N", help: "give up (a failed command) after N instructions (default 100000)")]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let limit = try args.countOption("max", in: 1...10_000_000) ?? 100_000
        let target = try session.requireStoppedTarget(for: "step")
        session.kernelViews?.targetWillResume()
        let startFunction = session.symbols?.symbolicate(try session.registerValue("pc"))?.name
        var event = StopEvent.signal(5)
        var steps = 0
        var ending: Ending?
        try session.withProgress("stepping") { () throws(CommandError) in
            repeat {
                session.invalidateCaches()
                event = try target.stepInstruction()
                steps += 1
                if event.targetIsGone { break }
                if session.interruptRequested() { ending = .interrupted("interrupted by Ctrl-C after \(steps) steps"); break }
                let function = startFunction == nil ? nil : session.symbols?.symbolicate(try session.registerValue("pc"))?.name
                if startFunction == nil || function != startFunction { ending = .stepped(steps); break }
            } while steps < limit
        }
        // Still inside the starting function after --max instructions: the step did not happen.
        let limitReached = Ending.stepLimit("still in \(startFunction ?? "?") after \(steps) instructions (--max \(limit))")
        return try report(event, session, ending: ending ?? limitReached, command: "step", steps: steps)
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
        return try waitAndReport(target, session, timeout: timeout, command: "finish")
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
        return try report(event, session, ending: .interrupted("interrupted"), command: "interrupt")
    }

    // MARK: shared

    static func timeoutValue(_ args: CommandArguments, _ session: Session) throws(CommandError) -> Double? {
        try args.secondsOption("timeout") ?? (session.interactive ? nil : session.runTimeout)
    }

    /// `1`, `0.5`: a deadline as the user would have typed it.
    static func secondsText(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// How a run-control command came to its stop, beyond the stub's stop reply.
    enum Ending {
        /// The target stopped by itself (`continue`, `finish`).
        case stopped
        /// Ctrl-C or `interrupt`; the text is the reason shown.
        case interrupted(String)
        /// The deadline (seconds) ran out and the target was interrupted.
        case deadline(Double)
        /// `stepi`/`step` did what was asked in this many instructions.
        case stepped(Int)
        /// `step --max` ran out; the text says where.
        case stepLimit(String)
    }

    /// Waits for the running target to stop, interrupting it on Ctrl-C or at the deadline.
    static func waitAndReport(_ target: DebugTarget, _ session: Session, timeout: Double?,
                              command: String) throws(CommandError) -> CommandOutput {
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while true {
            if let event = try target.waitForStop(timeout: 0.05) {
                return try report(event, session, ending: .stopped, command: command)
            }
            if session.interruptRequested() {
                return try report(try target.interrupt(timeout: 5), session, ending: .interrupted("interrupted by Ctrl-C"),
                                  command: command)
            }
            if let deadline, let timeout, Date() >= deadline {
                return try report(try target.interrupt(timeout: 5), session, ending: .deadline(timeout), command: command)
            }
        }
    }

    /// Updates the session after a stop and describes it as `{event, reason, target, …}`
    /// (`event` from `RunEvent`). A stop that is not the one asked for (deadline,
    /// step limit) throws `.stopMissed`, which carries the same description.
    static func report(_ event: StopEvent, _ session: Session, ending: Ending, command: String,
                       steps: Int? = nil) throws(CommandError) -> CommandOutput {
        if event.targetIsGone {
            session.noteGone(event)
            var json: [(String, JSONValue)] = []
            switch event {
            case .exited(let status):
                json = [("event", .string(RunEvent.exited.rawValue)), ("reason", .string(event.summary)),
                        ("exitStatus", .int(Int64(status)))]
            case .terminated(let signal):
                json = [("event", .string(RunEvent.terminated.rawValue)), ("reason", .string(event.summary)),
                        ("signal", .int(Int64(signal)))]
            default: break
            }
            json.append(("target", session.state.jsonValue))
            if let steps { json.append(("steps", .int(Int64(steps)))) }
            return .message("target \(event.summary)", json: .object(json))
        }
        session.noteStopped(reason: event.summary)
        let pc = try session.registerValue("pc")
        var hit: BreakpointTable.Entry?
        if case .signal(5) = event {
            hit = session.breakpoints.recordHit(pc: pc, watchAddress: nil)
        } else if case .watchpoint(_, let address) = event {
            hit = session.breakpoints.recordHit(pc: pc, watchAddress: address)
        }
        var signal: Int?
        let runEvent: RunEvent
        var reason: String
        if let hit {
            // A breakpoint is the stop asked for, even when Ctrl-C or the deadline came at the same moment.
            if hit.temporary && hit.expression == "finish" {
                runEvent = .returned
                reason = "returned (x0 = \(Hex.format(try session.registerValue("x0"))))"
            } else {
                runEvent = hit.kind.isWatchpoint ? .watchpoint : .breakpoint
                reason = "\(runEvent.rawValue) \(hit.id)"
            }
            if hit.temporary, let target = session.target {
                _ = session.breakpoints.remove(id: hit.id)
                try target.removeBreakpoint(hit.kind, at: hit.address, length: hit.length)
            }
        } else {
            switch ending {
            case .interrupted(let why): (runEvent, reason) = (.interrupted, why)
            case .deadline(let seconds):
                (runEvent, reason) = (.deadline, "no stop within the \(secondsText(seconds)) s deadline (--timeout), interrupted")
            case .stepped(let count): (runEvent, reason) = (.step, count == 1 ? "step" : "\(count) steps")
            case .stepLimit(let why): (runEvent, reason) = (.stepLimit, why)
            case .stopped:
                switch event {
                case .signal(2): (runEvent, reason) = (.interrupted, event.summary)
                case .watchpoint: (runEvent, reason) = (.watchpoint, event.summary)
                case .signal(let number):
                    (runEvent, reason) = (.signal, event.summary)
                    signal = number
                default: (runEvent, reason) = (.signal, event.summary)
                }
            }
        }
        try session.refreshStopState(reason: reason)
        let stateText = session.state.summary
        var json: [(String, JSONValue)] = [("event", .string(runEvent.rawValue)), ("reason", .string(reason)),
                                           ("target", session.state.jsonValue)]
        if let hit { json.append(("breakpoint", .int(Int64(hit.id)))) }
        if let steps { json.append(("steps", .int(Int64(steps)))) }
        if let signal { json.append(("signal", .int(Int64(signal)))) }
        if runEvent.isFailure {
            throw .stopMissed("\(command): \(reason); \(stateText)", stop: .object(json))
        }
        return .message("\(reason): \(stateText)", json: .object(json))
    }
}
