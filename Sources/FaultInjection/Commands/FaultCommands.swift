import MmdbgCore

/// The fault-injection commands: `inject` and `run` (replacing the
/// placeholders), plus `go`, `expect` and `baseline` for scenarios.
public enum FaultCommands {
    public static var all: [CommandSpec] {
        [InjectCommand.spec, GoCommand.spec, ExpectCommand.spec, ExpectCommand.baseline, RunScenarioCommand.spec]
    }

    public static func register(into registry: CommandRegistry) {
        for spec in all { registry.register(spec) }
    }

    /// The built-in commands plus these.
    public static func makeRegistry() -> CommandRegistry {
        let registry = BuiltinCommands.makeRegistry()
        register(into: registry)
        return registry
    }
}
