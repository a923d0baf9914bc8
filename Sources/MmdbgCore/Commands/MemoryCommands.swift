import Foundation

/// `x`: examine memory, virtual or physical.
enum MemoryCommands {
    static var all: [CommandSpec] { [examine] }

    /// Largest single `x` request: bigger dumps belong in a file, not a terminal.
    static let maxBytes = 1 << 20

    static let examine = CommandSpec(
        name: "x", aliases: ["examine"], group: "registers and memory",
        summary: "examine memory as bytes, halfwords, words, giant words, a C string or instructions",
        usage: "x ADDR [COUNT] [/b|h|w|g|s] [--phys]",
        details: "ADDR is an expression: 0xffff000040200000, $sp, map_page+0x10, $x0-16, or any C expression of `print`\n(&mm_tasks[1], mm_current->name, a local): a pointer or integer gives its value, an array, struct or\nfunction its address, as in gdb. Afterwards $_ is the address of the last unit examined.\nCOUNT units (default 8; for /s the maximum string length, default 256).\nThe format may be glued to the command, gdb style: `x/4g $sp`, `x/4gx $sp` (x = hex, the only display), `x/2 $sp`. --phys reads physical memory.\n/i disassembles COUNT instructions (A64, as `disas ADDR COUNT` shows them).",
        examples: ["x $sp 4 /g", "x/16b _start_phys --phys", "x mm_log /s", "x/10i $pc", "x/4gx &mm_tasks[1]", "x/s mm_current->name", "x/2g $_"],
        options: [OptionSpec("phys", help: "ADDR is a physical address")],
        completions: [.address, .none]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...2)
        // A count glued to the format (`/4g`) is accepted as gdb does.
        var format = args.format ?? "g"
        var countText: String? = args.positionals.count > 1 ? args.positionals[1].text : nil
        let digits = format.prefix { $0.isNumber }
        if !digits.isEmpty {
            guard countText == nil else { throw args.usageError("give the count once (either `/4g` or `4`)") }
            countText = String(digits)
            format = String(format.dropFirst(digits.count))
        }
        // gdb's display letter `x` (hex) is what `x` always shows: `/4gx`, `/4xg` and `/x` mean `/4g`, `/4g`, `/g`.
        if format.filter({ $0 == "x" }).count == 1 { format.removeAll { $0 == "x" } }
        if format.isEmpty { format = "g" }  // `x/2 $sp`: a count alone
        if format == "i" {
            guard !args.flag("phys") else { throw args.usageError("/i reads virtual memory only") }
            let count = try countText.map { text throws(CommandError) in
                try args.bounded(text, in: 1...DisassemblyCommands.maxCount, name: "COUNT")
            } ?? 8
            let address = try TypedDataCommands.examineAddress(args.positionals[0].text, session)
            _ = try session.requireStoppedTarget(for: "x")
            return try DisassemblyCommands.render(session, session.symbols == nil ? nil : try? session.debugInfo(for: "x"),
                                                  at: address, count: count, source: false, markFrame: false)
        }
        let unit: Int
        switch format {
        case "b": unit = 1
        case "h": unit = 2
        case "w": unit = 4
        case "g": unit = 8
        case "s": unit = 0
        default: throw args.usageError("unknown format /\(format)")
        }
        // Bounded before anything multiplies it: count * unit <= maxBytes cannot overflow.
        let count = try countText.map { text throws(CommandError) in
            unit == 0 ? try args.bounded(text, in: 1...maxBytes, name: "string length")
                : try args.bounded(text, in: 1...maxBytes / unit, name: "COUNT")
        } ?? (unit == 0 ? 256 : 8)
        let address = try TypedDataCommands.examineAddress(args.positionals[0].text, session)
        let physical = args.flag("phys")
        if unit == 0 {
            // A string may end anywhere: read up to the top of the address space, not past it.
            let limit = Int(min(UInt64(count - 1), UInt64.max - address)) + 1
            let target = try session.requireStoppedTarget(for: "x")
            let bytes = try session.withProgress("reading memory") { () throws(CommandError) in
                try read(session, target, address, limit, physical: physical)
            }
            let string = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            TypedDataCommands.noteExamined(address, unit: 1, session)
            return CommandOutput(blocks: [.text("\(Hex.padded(address)): \(quote(string))")],
                                 json: .object([("address", .hex(address)), ("physical", .bool(physical)),
                                                ("string", .string(string))]))
        }
        let length = count * unit
        guard UInt64(length - 1) <= UInt64.max - address else {
            throw args.usageError("\(Hex.format(address)) + \(length) bytes wraps past 2^64")
        }
        let target = try session.requireStoppedTarget(for: "x")
        let bytes = try session.withProgress("reading memory") { () throws(CommandError) in
            try read(session, target, address, length, physical: physical)
        }
        // Whole units only, whatever a target returns.
        let values = stride(from: 0, to: bytes.count - bytes.count % unit, by: unit).map { offset in
            bytes[offset..<offset + unit].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        TypedDataCommands.noteExamined(address &+ UInt64(max(0, values.count - 1) * unit), unit: unit, session)
        let perLine = max(1, 16 / unit)
        var lines: [String] = []
        for lineStart in stride(from: 0, to: values.count, by: perLine) {
            let lineAddress = address &+ UInt64(lineStart * unit)
            let cells = values[lineStart..<min(values.count, lineStart + perLine)].map { Hex.padded($0, digits: unit * 2) }
            let label = physical ? "" : (session.symbols?.describe(lineAddress).map { " <\($0)>" } ?? "")
            lines.append("\(Hex.padded(lineAddress))\(label):  " + cells.joined(separator: " "))
        }
        return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))],
                             json: .object([("address", .hex(address)), ("physical", .bool(physical)),
                                            ("unit", .int(Int64(unit))), ("values", .array(values.map(JSONValue.hex)))]))
    }

    /// Physical reads go to the stub (its QEMU adapter guards device memory);
    /// virtual ones through the session's device-memory guard.
    private static func read(_ session: Session, _ target: DebugTarget, _ address: UInt64, _ count: Int,
                             physical: Bool) throws(CommandError) -> [UInt8] {
        physical ? try target.readMemory(at: address, count: count, physical: true)
            : try session.readVirtualMemory(at: address, count: count)
    }

    private static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
