import Foundation

/// `reverse-continue`, `reverse-stepi`, `reverse-step`/`reverse-next`, `reverse-finish`:
/// run control backwards on a QEMU replay (`mmdbg replay --debug DIR`). gdb's names.
enum ReverseCommands {
    static var all: [CommandSpec] { [reverseContinue, reverseStepi, reverseStep, reverseNext, reverseFinish] }

    static let replayOnly = "Needs a recording replayed by QEMU (`mmdbg replay --debug DIR`); elsewhere it is refused with one line.\nThe stop line and the prompt show the instruction count (icount) and the direction.\nOn a replay of a fault scenario (`mmdbg run --record`) it stops at an injected fault rather than go past it (event `injection`)."

    static let reverseContinue = CommandSpec(
        name: "reverse-continue", aliases: ["rc"], group: "time travel",
        summary: "run backwards to the previous breakpoint or watchpoint hit, or the start of the recording",
        usage: "reverse-continue [--timeout SECONDS]",
        details: replayOnly + "\nQEMU reloads the nearest snapshot before the current position and replays forward, so the cost\ngrows with the distance to that snapshot (`Session.takeReplaySnapshots` adds snapshots).",
        examples: ["watch mm_current", "reverse-continue", "rc --timeout 10"],
        options: [RunControlCommands.timeoutOption]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let timeout = try RunControlCommands.timeoutValue(args, session)
        return try RunControlCommands.output(session.runControl.reverseContinue(timeout: timeout),
                                             command: "reverse-continue", session: session)
    }

    static let reverseStepi = CommandSpec(
        name: "reverse-stepi", aliases: ["rsi"], group: "time travel",
        summary: "execute COUNT machine instructions backwards (default 1)",
        usage: "reverse-stepi [COUNT]",
        details: replayOnly,
        examples: ["reverse-stepi", "reverse-stepi 10"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let count = args.positionals.isEmpty ? 1 : try args.count(at: 0, in: 1...100_000, name: "COUNT")
        return try RunControlCommands.output(session.runControl.reverseStepInstructions(count),
                                             command: "reverse-stepi", session: session)
    }

    static func stepSpec(_ name: String, alias: String) -> CommandSpec {
        CommandSpec(
            name: name, aliases: [alias], group: "time travel",
            summary: "step backwards until the PC is in another function (the caller, or a function called before)",
            usage: "\(name) [--max N]",
            details: replayOnly + "\nFunction granularity, like `step`; every instruction back reloads a snapshot, so keep --max modest.",
            examples: [name, "\(name) --max 200"],
            options: [OptionSpec("max", value: "N", help: "give up (a failed command) after N instructions (default 2000)")]
        ) { args, session throws(CommandError) in
            try args.expectCount(0...0)
            let limit = try args.countOption("max", in: 1...1_000_000) ?? 2000
            return try RunControlCommands.output(session.runControl.reverseStep(limit: limit), command: name, session: session)
        }
    }

    static let reverseStep = stepSpec("reverse-step", alias: "rs")
    static let reverseNext = stepSpec("reverse-next", alias: "rn")

    static let reverseFinish = CommandSpec(
        name: "reverse-finish", group: "time travel",
        summary: "run backwards to the call of the current function (stops at the caller's bl)",
        usage: "reverse-finish [--timeout SECONDS]",
        details: replayOnly + "\nA temporary breakpoint at the function's first instruction, reverse-continue, one instruction back.",
        examples: ["break sys_brk", "continue", "reverse-finish"],
        options: [RunControlCommands.timeoutOption]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let timeout = try RunControlCommands.timeoutValue(args, session)
        return try RunControlCommands.output(session.runControl.reverseFinish(timeout: timeout),
                                             command: "reverse-finish", session: session)
    }
}
