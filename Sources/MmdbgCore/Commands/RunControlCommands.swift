import Foundation

/// `continue`, `stepi`, `nexti`, `step`, `next`, `until`, `advance`, `finish`, `interrupt`.
enum RunControlCommands {
    static var all: [CommandSpec] { [continueCommand, stepi, nexti, step, next, until, advance, finish, interrupt] }

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
        if args.flag("no-wait") {
            try session.runControl.resume()
            return .message("running", json: .object([("event", .string(RunEvent.running.rawValue)),
                                                      ("reason", .string("resumed without waiting")),
                                                      ("target", session.state.jsonValue)]))
        }
        return try output(session.runControl.continueToStop(timeout: timeout), command: "continue", session: session)
    }

    static let stepi = CommandSpec(
        name: "stepi", aliases: ["si"], group: "run control",
        summary: "execute COUNT machine instructions (default 1)",
        usage: "stepi [COUNT]",
        examples: ["stepi", "stepi 10"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let count = args.positionals.isEmpty ? 1 : try args.count(at: 0, in: 1...1_000_000, name: "COUNT")
        return try output(session.runControl.stepInstructions(count), command: "stepi", session: session)
    }

    static let maxOption = OptionSpec("max", value: "N",
                                      help: "give up (a failed command) after N single-stepped instructions (default 100000)")

    static let nexti = CommandSpec(
        name: "nexti", aliases: ["ni"], group: "run control",
        summary: "execute COUNT machine instructions (default 1), a call counting as one",
        usage: "nexti [COUNT] [--timeout SECONDS]",
        details: "Like `stepi`, but a `bl`/`blr` is run over: a temporary breakpoint at the instruction after\nthe call and a continue, until it is hit in this frame (SP back at the caller's; recursion is run on).",
        examples: ["nexti", "nexti 5", "x/3i $pc", "nexti --timeout 5"],
        options: [timeoutOption]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let count = args.positionals.isEmpty ? 1 : try args.count(at: 0, in: 1...1_000_000, name: "COUNT")
        return try output(session.runControl.nextInstructions(count, timeout: try timeoutValue(args, session)),
                          command: "nexti", session: session)
    }

    static func lineStep(_ kind: LineStepKind, aliases: [String], summary: String, details: String,
                         examples: [String]) -> CommandSpec {
        CommandSpec(
            name: kind.rawValue, aliases: aliases, group: "run control", summary: summary,
            usage: "\(kind.rawValue) [COUNT] [--max N] [--timeout SECONDS]",
            details: details + "\nWithout line information at the PC it steps until the function changes, and says so.",
            examples: examples,
            options: [maxOption, timeoutOption]
        ) { args, session throws(CommandError) in
            try args.expectCount(0...1)
            let count = args.positionals.isEmpty ? 1 : try args.count(at: 0, in: 1...100_000, name: "COUNT")
            let limit = try args.countOption("max", in: 1...10_000_000) ?? 100_000
            let timeout = try timeoutValue(args, session)
            var report = try session.runControl.stepLine(kind, limit: limit, timeout: timeout)
            var done = 1
            while done < count, report.event == .step, report.note == nil {
                report = try session.runControl.stepLine(kind, limit: limit, timeout: timeout)
                done += 1
            }
            return try output(report, command: kind.rawValue, session: session)
        }
    }

    static let step = lineStep(
        .step, aliases: ["s"],
        summary: "run to the start of the next source line, into calls that have line information",
        details: "As gdb's `step`: single steps through the current line's addresses (the line table's rows);\nstops at the first instruction of another line marked as a statement. A call into a function\nwith line information stops after its prologue (where `break FUNCTION` stops); a call without\nit is run over. Entering an inlined function stops in it; leaving one goes on to a new line.",
        examples: ["step", "step 3", "step --max 500"])

    static let next = lineStep(
        .next, aliases: ["n"],
        summary: "run to the next source line in this frame, over calls",
        details: "As gdb's `next`: like `step`, but every call is run over (a temporary breakpoint at its\nreturn address and a continue; a recursive call hitting it deeper is run on), and inlined\ncalls on the same line are stepped through.",
        examples: ["next", "next 4", "next --timeout 5"])

    static let until = CommandSpec(
        name: "until", aliases: ["u"], group: "run control",
        summary: "`next`, but never backwards (out of a loop); or run to LOCATION in this frame",
        usage: "until [LOCATION] [--max N] [--timeout SECONDS]",
        details: "Without LOCATION: `next`, with the range starting at the function's entry, so a jump back\ninto the loop is stepped through. With LOCATION (FUNCTION, FILE:LINE, LINE, *ADDR): run until\nit is reached in this frame (deeper recursive hits are run on), or the current function returns.",
        examples: ["until", "until 160", "until UserPageTables.swift:190", "until *$x30"],
        options: [maxOption, timeoutOption],
        completions: [.location]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let timeout = try timeoutValue(args, session)
        if let text = args.positionals.first?.text {
            let place = try BreakpointCommands.codeAddress(text, session, command: "until")
            return try output(session.runControl.advance(to: place.address, thisFrame: true, timeout: timeout),
                              command: "until", session: session, note: place.note)
        }
        let limit = try args.countOption("max", in: 1...10_000_000) ?? 100_000
        return try output(session.runControl.stepLine(.until, limit: limit, timeout: timeout), command: "until", session: session)
    }

    static let advance = CommandSpec(
        name: "advance", group: "run control",
        summary: "run to LOCATION, or until the current function returns",
        usage: "advance LOCATION [--timeout SECONDS]",
        details: "LOCATION: FUNCTION (after its prologue), FILE:LINE, LINE (in the current file), *ADDR.\nA temporary breakpoint there and one at the return address; the first reached stops.",
        examples: ["advance map_page", "advance UserPageTables.swift:190", "advance 160", "advance *0xffff000040204d84"],
        options: [timeoutOption],
        completions: [.location]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let timeout = try timeoutValue(args, session)
        let place = try BreakpointCommands.codeAddress(args.positionals[0].text, session, command: "advance")
        return try output(session.runControl.advance(to: place.address, thisFrame: false, timeout: timeout),
                          command: "advance", session: session, note: place.note)
    }

    static let finish = CommandSpec(
        name: "finish", aliases: ["fin"], group: "run control",
        summary: "run until the current function returns; show the caller's line and x0",
        usage: "finish [--timeout SECONDS]",
        details: "The return address is x30 at a function's first instruction, else the saved LR of the\nAAPCS64 frame record at x29 (+8). A temporary breakpoint is placed there; the stop shows the\ncaller's line and `Value returned: x0 = …`. In an inlined function it steps (`next`) until\nthe PC leaves the inlined function.",
        examples: ["break map_page", "continue", "finish"],
        options: [timeoutOption]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let timeout = try timeoutValue(args, session)
        let pc = try session.registerValue("pc")
        if let position = session.lineStepOracle?.stepPosition(at: pc),
           position.inlinedScopes.count > session.runControl.hiddenInlineFrames(at: pc) {
            return try output(session.runControl.stepLine(.finishInlined, limit: 100_000, timeout: timeout),
                              command: "finish", session: session)
        }
        let report = try session.runControl.finish(timeout: timeout)
        var value: String?
        if report.event == .returned, let x0 = try? session.registerValue("x0") {
            // The decimal too when it reads as a number (a status, a count), not for addresses.
            let signed = Int64(bitPattern: x0)
            value = "Value returned: x0 = \(Hex.format(x0))" + ((-0xFFFF_FFFF...0xFFFF_FFFF).contains(signed) ? " (\(signed))" : "")
        }
        return try output(report, command: "finish", session: session, note: value)
    }

    static let interrupt = CommandSpec(
        name: "interrupt", group: "run control",
        summary: "stop a running target (after `continue --no-wait`)",
        usage: "interrupt"
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        return try output(session.runControl.interrupt(), command: "interrupt", session: session)
    }

    // MARK: shared

    static func timeoutValue(_ args: CommandArguments, _ session: Session) throws(CommandError) -> Double? {
        try args.secondsOption("timeout") ?? (session.interactive ? nil : session.runTimeout)
    }

    /// A run-control report as a command result. A stop that is not the one
    /// asked for (deadline, step limit) fails the command and still carries the stop.
    static func output(_ report: RunReport, command: String, session: Session,
                       note extra: String? = nil) throws(CommandError) -> CommandOutput {
        if report.isFailure { throw .stopMissed("\(command): \(report.reason); \(report.target.summary)", stop: report.json) }
        // Where the stop is in the source, as a line of its own after the stop line
        // (the stop line and the prompt stay as they were: transcripts do not change).
        var json = report.json
        var blocks: [OutputBlock] = [.text(report.text)]
        if case .stopped(let pc, _, _, _) = report.target, let source = session.sourceLine(at: pc, hidingInlined: report.hiddenInlineFrames) {
            if case .object(let fields) = json { json = .object(fields + [("source", source.json)]) }
            blocks.append(.text(source.text))
        }
        // The frame the stop line names is the selected one (a step that stopped at an inlined call's first
        // instruction shows the caller: its locals are what `info locals` and `print` see, as in gdb).
        if report.hiddenInlineFrames > 0 { _ = try? session.selectFrame(report.hiddenInlineFrames, for: "step") }
        // `display` expressions, after the stop and its source line, as gdb shows them.
        if case .stopped = report.target, !session.displays.entries.isEmpty {
            let shown = session.displays.evaluate(session)
            blocks.append(.text(shown.text))
            if case .object(let fields) = json { json = .object(fields + [("displays", shown.json)]) }
        }
        let notes = [report.note, extra].compactMap { $0 }
        if !notes.isEmpty {
            blocks += notes.map { OutputBlock.text($0) }
            if case .object(let fields) = json, report.note == nil || extra != nil {
                json = .object(fields.filter { $0.0 != "note" } + [("note", .string(notes.joined(separator: "; ")))])
            }
        }
        return CommandOutput(blocks: blocks, json: json)
    }
}
