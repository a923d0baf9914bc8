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
        return try output(session.runControl.stepOutOfFunction(limit: limit), command: "step", session: session)
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
        return try output(session.runControl.finish(timeout: timeout), command: "finish", session: session)
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
    static func output(_ report: RunReport, command: String, session: Session) throws(CommandError) -> CommandOutput {
        if report.isFailure { throw .stopMissed("\(command): \(report.reason); \(report.target.summary)", stop: report.json) }
        // Where the stop is in the source, as a line of its own after the stop line
        // (the stop line and the prompt stay as they were: transcripts do not change).
        guard case .stopped(let pc, _, _, _) = report.target, let source = session.sourceLine(at: pc) else {
            return .message(report.text, json: report.json)
        }
        var json = report.json
        if case .object(let fields) = json { json = .object(fields + [("source", source.json)]) }
        return CommandOutput(blocks: [.text(report.text), .text(source.text)], json: json)
    }
}
