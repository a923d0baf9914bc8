/// Why a command failed. Every case prints as ONE line that tells the user
/// what went wrong and, where it helps, what to do instead.
public enum CommandError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The line could not be split into tokens (e.g. an unterminated quote).
    case syntax(String)
    case unknownCommand(String, suggestion: String?)
    /// Wrong arguments: the message plus the command's usage line.
    case usage(String, usage: String)
    case badNumber(String)
    case unknownSymbol(String)
    case unknownRegister(String)
    /// The command needs something the session does not have (an ELF, a target…).
    case unavailable(String)
    /// The target refused or failed (unmapped address, stub error…).
    case target(String)
    /// The connection to the stub is gone; at the prompt `attach` re-attaches (see `promptHint`).
    case connectionLost(String)
    /// The target's QEMU is gone; the text says how (`exited with status 0`).
    case qemuExited(String)
    case failed(String)
    /// A run-control command ended without the stop it was asked for (its
    /// deadline ran out, `step --max` was reached): the message says where the
    /// target is; `stop` is the stop it did make (the `--json` document's `result`).
    case stopMissed(String, stop: JSONValue)

    /// The run-control stop that came with a failure (see `stopMissed`), if any.
    public var stop: JSONValue? {
        if case .stopMissed(_, let stop) = self { return stop } else { return nil }
    }

    public var description: String {
        switch self {
        case .syntax(let why): return "syntax error: \(CommandError.clip(why, limit: 200))"
        case .unknownCommand(let name, let suggestion):
            return "unknown command \"\(CommandError.clip(name))\"" + (suggestion.map { " (did you mean `\($0)`?)" } ?? " (type `help` for the list)")
        case .usage(let why, let usage): return "\(CommandError.clip(why, limit: 200)); usage: \(usage)"
        case .badNumber(let text): return "bad number \"\(CommandError.clip(text))\" (use decimal, 0x hex, 0b binary or 0o octal)"
        case .unknownSymbol(let name): return "no symbol \"\(CommandError.clip(name))\" in the ELF"
        case .unknownRegister(let name): return "no register \"\(CommandError.clip(name))\" (see `regs` for the names)"
        case .unavailable(let why): return CommandError.clip(why, limit: 300)
        // Reasons may quote user text or stub replies: clipped too, so an error stays one short line.
        case .target(let why): return "target: \(CommandError.clip(why, limit: 300))"
        case .connectionLost(let why): return "connection lost: \(CommandError.clip(why, limit: 300))"
        case .qemuExited(let why): return "QEMU exited (\(CommandError.clip(why, limit: 300))); `uart` shows its last output"
        case .failed(let why), .stopMissed(let why, _): return CommandError.clip(why, limit: 300)
        }
    }

    /// What to type next, for a person at the prompt; nil when there is nothing to add.
    /// Not part of `description`: `-ex`, `--batch` and pipes have no prompt to type it at.
    public var promptHint: String? {
        if case .connectionLost = self { return "use `attach` to re-attach" }
        return nil
    }

    /// User text quoted in an error, shortened so an error stays one readable line.
    static func clip(_ text: String, limit: Int = 64) -> String {
        let printable = String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : Character($0) })
        return printable.count <= limit ? printable : printable.prefix(limit) + "…"
    }
}
