import MmdbgCore

/// `go`: continue with the armed faults applied.
enum GoCommand {
    static let spec = CommandSpec(
        name: "go", group: "fault injection",
        summary: "continue with armed faults applied, until SYMBOL is entered, a breakpoint, exit or the deadline",
        usage: "go [SYMBOL|ADDR | --finish | --fired N] [--count N] [--timeout SECONDS]",
        details: "Stops at fault triggers are handled (the fault fires or not) and the target resumed at once.\nWith SYMBOL the target stops at its Nth entry (--count, default 1).",
        examples: ["go", "go reap_task", "go exit_process --count 2 --timeout 10"],
        options: [OptionSpec("count", value: "N", help: "stop at the Nth entry (default 1)"),
                  OptionSpec("fired", value: "N", help: "run until N faults have fired in this session (stopped where the Nth fired)"),
                  OptionSpec("finish", help: "run until the current function returns (stopped at its entry: x30)"),
                  OptionSpec("timeout", value: "SECONDS", help: "interrupt after this long (default 30)")],
        completions: [.symbol]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        var address = args.positionals.isEmpty ? nil : try session.evaluate(args.positionals[0].text)
        if args.flag("finish") {
            guard address == nil else { throw args.usageError("give SYMBOL or --finish, not both") }
            let pc = try session.registerValue("pc")
            guard let (_, offset) = session.symbols?.symbolicate(pc), offset == 0 else {
                throw .failed("go --finish: stop at a function's entry first (x30 is the return address only there)")
            }
            address = try session.registerValue("x30")
        }
        let count = try ValueParsing.count(args.options["count"], option: "count", args) ?? 1
        let timeout = try seconds(args, "timeout", default: session.runTimeout)
        let firings = try ValueParsing.count(args.options["fired"], option: "fired", args)
        if firings != nil, address != nil { throw args.usageError("--fired is a goal of its own: no SYMBOL or --finish with it") }
        let (outcome, fired) = try FaultDriver.drive(session, goal: FaultDriver.Goal(address: address, count: count, firings: firings,
                                                                                      timeout: timeout),
                                                     command: "go")
        if firings != nil, outcome != .fired {
            throw .failed("go: \(firings!) firing(s) not reached (\(outcome.summary)); \(FaultSessionState.of(session).engine.trace.count) so far")
        }
        if address != nil, outcome != .reachedAddress {
            throw .failed("go: \(args.positionals.first?.text ?? "the return") not reached (\(outcome.summary)); \(fired.count) fault(s) fired")
        }
        let text = "\(outcome.summary): \(session.state.summary); \(fired.count) fault(s) fired"
        return .message(text, json: .object([("outcome", .string(outcome.summary)), ("target", session.state.jsonValue),
                                              ("fired", .array(fired.map(TraceJSON.hit)))]))
    }

    /// A positive number of seconds from option `name`.
    static func seconds(_ args: CommandArguments, _ name: String, default value: Double) throws(CommandError) -> Double {
        try args.secondsOption(name) ?? value
    }
}
