import FaultInjection
import MmdbgCore

/// Where the session's backends come from: the GdbRemote client for the
/// connection, Inspect's ELF reader for symbols. Everything protocol- or
/// format-specific lives in those modules.
enum Backends {
    /// Opens a gdbstub connection through the GdbRemote client.
    static var connector: ((String) throws(CommandError) -> DebugTarget)? {
        { address throws(CommandError) in try GdbTarget.connect(to: address) }
    }

    static func loadSymbols(_ path: String) throws(CommandError) -> SymbolTable? {
        try ELFSymbolTable(path: path)
    }
}

/// The registry with the built-in commands plus those other modules contribute.
enum CommandRegistryFactory {
    static func make() -> CommandRegistry {
        FaultCommands.makeRegistry()
    }
}
