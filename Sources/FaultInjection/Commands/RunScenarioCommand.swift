import MmdbgCore

/// `run SCENARIO`: the scenario's lines against the current target.
enum RunScenarioCommand {
    static let spec = CommandSpec(
        name: "run", group: "fault injection",
        summary: "run a fault-injection scenario file against the current target",
        usage: "run SCENARIO",
        details: "Runs each line like the prompt would and stops at the first failure. `#!` directives\n(append, icount) need a fresh QEMU: use `mmdbg run FILE` for those.",
        examples: ["run scenarios/oom-pte.mmdbg"],
        completions: [.file]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let scenario: Scenario
        do throws(FaultInjectionError) { scenario = try Scenario(contentsOf: args.positionals[0].text) } catch { throw .failed(error.description) }
        let outcomes = ScenarioExecution.execute(scenario, in: session)
        let lines = outcomes.map { "\($0.succeeded ? "ok  " : "FAIL") \($0.line.number): \($0.line.text)" + ($0.succeeded ? "" : " — \($0.text)") }
        let json = JSONValue.object([("scenario", .string(scenario.name)),
                                     ("lines", .array(outcomes.map {
                                         .object([("line", .int(Int64($0.line.number))), ("command", .string($0.line.text)),
                                                  ("ok", .bool($0.succeeded)), ("output", .string($0.text)),
                                                  ("seconds", .double($0.seconds))]) }))])
        if let failed = outcomes.last, !failed.succeeded {
            throw .failed("scenario \(scenario.name) failed at line \(failed.line.number) (\(failed.line.text)): \(failed.text)")
        }
        return CommandOutput(blocks: [.text(lines.joined(separator: "\n") + "\nscenario \(scenario.name): passed")], json: json)
    }
}
