import MmdbgCore

/// The registry with the built-in commands plus those other modules
/// contribute (the fault-injection module registers `inject` and `run` here).
enum CommandRegistryFactory {
    static func make() -> CommandRegistry {
        BuiltinCommands.makeRegistry()
    }
}
