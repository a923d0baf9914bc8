import DebugInfo
import Inspect

/// `sym` and `addr`: between addresses and ELF symbols; `info symbol` and `info address` as gdb words them.
enum SymbolCommands {
    static var all: [CommandSpec] { [sym, addr] }

    static let sym = CommandSpec(
        name: "sym", aliases: ["info-symbol"], group: "symbols",
        summary: "show the symbol+offset an address falls in",
        usage: "sym ADDR",
        examples: ["sym $pc", "sym map_page+0x10", "sym $x30"],
        completions: [.address]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let address = try session.evaluate(args.positionals[0].text)
        guard let symbols = session.symbols else { throw .unavailable("sym: no ELF loaded (use --elf FILE)") }
        guard let (name, offset) = symbols.symbolicate(address) else {
            throw .failed("no symbol contains \(Hex.format(address))")
        }
        let text = offset == 0 ? name : "\(name)+\(Hex.format(offset))"
        return .message("\(Hex.padded(address)) = \(text)",
                        json: .object([("address", .hex(address)), ("symbol", .string(name)), ("offset", .hex(offset))]))
    }

    static let addr = CommandSpec(
        name: "addr", aliases: ["info-address"], group: "symbols",
        summary: "show the address of a symbol (or of any address expression)",
        usage: "addr SYMBOL",
        examples: ["addr map_page", "addr mm_tasks+0x40"],
        completions: [.symbol]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...1)
        let expression = args.positionals[0].text
        let address = try session.evaluate(expression)
        return .message("\(expression) = \(Hex.padded(address))",
                        json: .object([("expression", .string(expression)), ("address", .hex(address))]))
    }

    /// `info symbol ADDR`: `map_page + 16 in section .text`, as gdb prints it.
    static func infoSymbol(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        guard args.positionals.count == 2 else { throw args.usageError("give an ADDR: info symbol $pc") }
        let address = try session.evaluate(args.positionals[1].text)
        guard let symbols = session.symbols else { throw .unavailable("info symbol: no ELF loaded (use --elf FILE)") }
        guard let (name, offset) = symbols.symbolicate(address) else {
            return .message("No symbol matches \(args.positionals[1].text).",
                            json: .object([("address", .hex(address)), ("symbol", .null)]))
        }
        let section = (symbols as? ELFSymbolTable)?.elf.section(containing: address)?.name
        let text = (offset == 0 ? name : "\(name) + \(offset)") + (section.map { " in section \($0)" } ?? "")
        return .message(text, json: .object([("address", .hex(address)), ("symbol", .string(name)), ("offset", .int(Int64(offset))),
                                             ("section", section.map(JSONValue.string) ?? .null)]))
    }

    /// `info address SYMBOL`: where a parameter or variable of the current function lives, else
    /// an ELF symbol's address and kind.
    static func infoAddress(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        guard args.positionals.count == 2 else { throw args.usageError("give a SYMBOL: info address map_page") }
        let name = args.positionals[1].text
        if session.target != nil, session.state != .running, let info = try? session.debugInfo(for: "info address"),
           info.hasDebugInfo, let pc = try? DisassemblyCommands.currentPC(session),
           let variable = (try? info.variables(at: pc))?.first(where: { $0.name == name }) {
            return .message("Symbol \"\(name)\" is \(SourceCommands.describe(variable)).", json: .object([
                ("symbol", .string(name)), ("kind", .string(variable.isParameter ? "parameter" : "variable")),
                ("location", .array(variable.operations.map(JSONValue.string))), ("address", .null)]))
        }
        guard let symbols = session.symbols else { throw .unavailable("info address: no ELF loaded (use --elf FILE)") }
        guard let address = symbols.address(of: name) else { throw .failed("No symbol \"\(name)\" in current context.") }
        let kind = (symbols as? ELFSymbolTable)?.elf.symbol(named: name)?.kind
        let what = kind == .object ? "static storage" : kind == .function || kind == nil ? "a function" : "a symbol"
        return .message("Symbol \"\(name)\" is \(what) at address \(Hex.format(address)).", json: .object([
            ("symbol", .string(name)), ("kind", .string(kind == .object ? "static" : kind == .function || kind == nil ? "function" : "symbol")),
            ("location", .null), ("address", .hex(address))]))
    }
}
