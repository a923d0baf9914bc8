/// The commands every session has. Other modules add theirs on top
/// (`FaultInjection` adds `inject`, `go`, `expect`, `baseline` and `run`).
public enum BuiltinCommands {
    /// A registry with every built-in command.
    public static func makeRegistry() -> CommandRegistry {
        let registry = CommandRegistry()
        register(into: registry)
        return registry
    }

    /// Adds every built-in command to `registry`.
    public static func register(into registry: CommandRegistry) {
        for spec in SessionCommands.all + RegisterCommands.all + MemoryCommands.all + SymbolCommands.all
            + BreakpointCommands.all + RunControlCommands.all + KernelViewCommands.all + ConsoleCommands.all
            + BacktraceCommands.all + DisassemblyCommands.all + SourceCommands.all + ReverseCommands.all
            + TimeTravelCommands.all + CPUCommands.all + TypedDataCommands.all + FrameDataCommands.all {
            registry.register(spec)
        }
    }
}
