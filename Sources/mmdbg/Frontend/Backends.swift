import MmdbgCore

/// Where the session's backends come from: the GdbRemote client for the
/// connection, Inspect's ELF reader for symbols. Everything protocol- or
/// format-specific lives in those modules.
enum Backends {
    /// Opens a gdbstub connection; nil while GdbRemote has no client.
    static var connector: ((String) throws(CommandError) -> DebugTarget)? { nil }

    static func loadSymbols(_ path: String) throws(CommandError) -> SymbolTable? {
        throw .notAvailableYet(command: "symbols", reason: "the ELF reader comes with the Inspect module")
    }
}

/// The registry with the built-in commands plus those other modules contribute.
enum CommandRegistryFactory {
    static func make() -> CommandRegistry {
        BuiltinCommands.makeRegistry()
    }
}
