import DebugInfo

/// `regs`: core and system registers by name.
enum RegisterCommands {
    static var all: [CommandSpec] { [regs] }

    /// The registers `regs` shows without arguments (the `g` packet's set).
    static let coreRegisters = (0...30).map { "x\($0)" } + ["sp", "pc", "cpsr"]

    static let regs = CommandSpec(
        name: "regs", aliases: ["registers", "info-registers"], group: "registers and memory",
        summary: "show core registers, or the named core/system registers",
        usage: "regs [NAME…] [--decode]",
        details: "Names are case-insensitive and as the target describes them (x0…x30, sp, pc, cpsr,\nTTBR0_EL1, TCR_EL1, SCTLR, ESR_EL1, FAR_EL1 …). `--decode` adds the fields of TCR_EL1,\nSCTLR and ESR_EL1.\nAfter `frame N`/`up` (N > 0), the core registers are those recovered for that frame from\ncall-frame information; one the unwinder could not recover shows as `(not saved)`.",
        examples: ["regs", "regs pc x30 sp", "regs TCR_EL1 SCTLR ESR_EL1 --decode"],
        options: [OptionSpec("decode", help: "decode TCR_EL1 / SCTLR / ESR_EL1 fields")],
        completions: [.register]
    ) { args, session throws(CommandError) in
        let target = try session.requireStoppedTarget(for: "regs")
        let names = args.positionals.isEmpty ? coreRegisters : args.positionals.map(\.text)
        if session.selectedFrame > 0 { return try frameRegisters(names, session) }
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

    /// The selected frame's recovered core registers (`frame N`, `up`).
    static func frameRegisters(_ names: [String], _ session: Session) throws(CommandError) -> CommandOutput {
        let frame = try session.selectedBacktraceFrame(for: "regs")
        var table = TextTable(columns: [.init("NAME"), .init("VALUE", .right), .init("")])
        var json: [JSONValue] = []
        for name in names {
            let key = name.lowercased()
            let number: Int? = key == "sp" ? RegisterSet.sp : key == "pc" ? RegisterSet.pc
                : key.hasPrefix("x") ? Int(key.dropFirst()).flatMap { (0...30).contains($0) ? $0 : nil } : nil
            guard let number else {
                throw .unavailable("regs: frame \(frame.index) has only the core registers (x0…x30, sp, pc); `frame 0` for \(name)")
            }
            let value = number == RegisterSet.pc ? frame.pc : frame.registers[number]
            let symbol = value.flatMap { session.symbols?.nearby($0) }
            table.rows.append([name, value.map { Hex.padded($0) } ?? "(not saved)", symbol ?? ""])
            json.append(.object([("name", .string(name)), ("value", value.map(JSONValue.hex) ?? .null),
                                 ("symbol", symbol.map(JSONValue.string) ?? .null)]))
        }
        return CommandOutput(blocks: [.text("frame \(frame.index): \(frame.function ?? "??")"), .table(table)],
                             json: .object([("registers", .array(json)), ("decoded", .object([])),
                                            ("frame", .int(Int64(frame.index)))]))
    }
}
