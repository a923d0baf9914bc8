/// `regs`: core and system registers by name.
enum RegisterCommands {
    static var all: [CommandSpec] { [regs] }

    /// The registers `regs` shows without arguments (the `g` packet's set).
    static let coreRegisters = (0...30).map { "x\($0)" } + ["sp", "pc", "cpsr"]

    static let regs = CommandSpec(
        name: "regs", aliases: ["registers", "info-registers"], group: "registers and memory",
        summary: "show core registers, or the named core/system registers",
        usage: "regs [NAME…] [--decode]",
        details: "Names are case-insensitive and as the target describes them (x0…x30, sp, pc, cpsr,\nTTBR0_EL1, TCR_EL1, SCTLR, ESR_EL1, FAR_EL1 …). `--decode` adds the fields of TCR_EL1,\nSCTLR and ESR_EL1.",
        examples: ["regs", "regs pc x30 sp", "regs TCR_EL1 SCTLR ESR_EL1 --decode"],
        options: [OptionSpec("decode", help: "decode TCR_EL1 / SCTLR / ESR_EL1 fields")],
        completions: [.register]
    ) { args, session throws(CommandError) in
        let target = try session.requireStoppedTarget(for: "regs")
        let names = args.positionals.isEmpty ? coreRegisters : args.positionals.map(\.text)
        let values = try target.readRegisters(names)
        var table = TextTable(columns: [.init("NAME"), .init("VALUE", .right), .init("")])
        var json: [JSONValue] = []
        var decoded: [OutputBlock] = []
        var decodedJSON: [(String, JSONValue)] = []
        for (name, value) in zip(names, values) {
            let symbol = session.symbols?.nearby(value)
            table.rows.append([name, Hex.padded(value), symbol ?? ""])
            json.append(.object([("name", .string(name)), ("value", .hex(value)),
                                 ("symbol", symbol.map(JSONValue.string) ?? .null)]))
            if args.flag("decode"), let fields = RegisterFields.decode(name, value) {
                decoded.append(.fields([(name, Hex.padded(value))] + fields.map { ("  " + $0.0, $0.1) }))
                decodedJSON.append((name, .object(fields.map { ($0.0, .string($0.1)) })))
            }
        }
        if args.flag("decode") && decoded.isEmpty {
            throw args.usageError("--decode knows TCR_EL1, SCTLR and ESR_EL1; name at least one")
        }
        return CommandOutput(blocks: [.table(table)] + decoded,
                             json: .object([("registers", .array(json)), ("decoded", .object(decodedJSON))]))
    }
}

