/// `sym` and `addr`: between addresses and ELF symbols.
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
}
