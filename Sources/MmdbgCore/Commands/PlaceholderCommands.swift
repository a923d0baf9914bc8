/// `inject` and `run` until the FaultInjection module registers the real ones
/// (it replaces these by name through `CommandRegistry.register`).
enum PlaceholderCommands {
    static var all: [CommandSpec] { [inject, run].map { var spec = $0; spec.rawArguments = true; return spec } }

    static let inject = CommandSpec(
        name: "inject", group: "fault injection",
        summary: "arm a fault: a trigger, a selection and an action",
        usage: "inject …",
        completions: [.symbol]
    ) { _, _ throws(CommandError) in
        throw CommandError.notAvailableYet(command: "inject", reason: "the fault-injection engine has not registered it")
    }

    static let run = CommandSpec(
        name: "run", group: "fault injection",
        summary: "run a fault-injection scenario file",
        usage: "run SCENARIO",
        completions: [.file]
    ) { _, _ throws(CommandError) in
        throw CommandError.notAvailableYet(command: "run", reason: "the fault-injection scenario runner has not registered it")
    }
}
