import DebugInfo
import Foundation

/// `disas` (and `x/Ni`, which MemoryCommands hands over): A64 through Capstone.
enum DisassemblyCommands {
    static var all: [CommandSpec] { [disas] }

    /// Instructions when neither a count nor a function extent says how many.
    static let defaultCount = 32
    static let maxCount = 100_000

    static let disas = CommandSpec(
        name: "disas", aliases: ["disassemble"], group: "source",
        summary: "disassemble a function, or COUNT instructions from an address",
        usage: "disas [FUNCTION|ADDR [COUNT]] [--source]",
        details: "Without arguments: the function of the selected frame. A FUNCTION (or an address inside one)\nwith DWARF shows the whole function; otherwise COUNT instructions (default 32). `=>` marks the PC.\nBranch targets read as `symbol+off`. --source puts each source line before its code.\nThe bytes come from the stopped target, or from the ELF when no target is attached.",
        examples: ["disas", "disas map_page", "disas $pc 10", "disas sys_fork --source"],
        options: [OptionSpec("source", help: "interleave the source lines")],
        completions: [.address, .none]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...2)
        let info = try session.debugInfo(for: "disas")
        var start: UInt64
        var count: Int?
        if args.positionals.isEmpty {
            start = try currentPC(session)
        } else {
            start = try session.evaluate(args.positionals[0].text)
        }
        if args.positionals.count == 2 { count = try args.count(at: 1, in: 1...maxCount, name: "COUNT") }
        var end: UInt64?
        if count == nil, info.hasDebugInfo, let function = try? info.function(containing: start),
           let range = function.ranges.first(where: { $0.contains(start) }) {
            // The whole function (the range that holds the address), from its start.
            start = range.lowerBound
            end = range.upperBound
        }
        let instructionCount = count ?? end.map { Int(min(UInt64(maxCount), ($0 - start) / 4)) } ?? defaultCount
        var note: String?
        if info.missingDebugInfo != nil && count == nil { note = "no DWARF: \(defaultCount) instructions from the address (give COUNT for more)" }
        return try render(session, info, at: start, count: instructionCount, source: args.flag("source"), note: note)
    }

    /// The selected frame's PC, or the target's.
    static func currentPC(_ session: Session) throws(CommandError) -> UInt64 {
        if session.selectedFrame > 0, let frame = try? session.selectedBacktraceFrame(for: "disas") { return frame.pc }
        return try session.registerValue("pc")
    }

    /// Text and JSON for `count` instructions at `address` (also `x/Ni`).
    static func render(_ session: Session, _ info: DebugInfoFile?, at address: UInt64, count: Int, source: Bool,
                       note: String? = nil, markFrame: Bool = true) throws(CommandError) -> CommandOutput {
        let length = count * 4
        guard UInt64(length) <= UInt64.max - address else { throw .failed("disas: the range wraps past 2^64") }
        let bytes: [UInt8]
        if session.target != nil {
            bytes = try session.withProgress("reading code") { () throws(CommandError) in
                try session.readVirtualMemory(at: address, count: length)
            }
        } else if let fromFile = info?.fileBytes(at: address, count: length) {
            bytes = fromFile
        } else {
            throw .failed("disas: no target attached and the ELF has no code at \(Hex.format(address))")
        }
        let instructions: [Instruction]
        do throws(DebugInfoError) {
            if let info {
                instructions = try info.disassemble(bytes, at: address, maxCount: count)
            } else {
                instructions = try Disassembler().disassemble(bytes, at: address, maxCount: count)
            }
        } catch {
            throw .failed("disas: \(error)")
        }
        // `=>` marks the selected frame's PC for `disas`, the target's PC for `x/i` (where `$pc` is the register).
        let pc: UInt64? = session.target == nil ? nil : markFrame ? try? currentPC(session) : try? session.registerValue("pc")
        var lines: [String] = []
        if let note { lines.append("note: \(note)") }
        var rows: [UInt64: SourceLocation] = [:]
        if source, let info, info.hasDebugInfo, let last = instructions.last {
            for row in (try? info.lineRows(from: address, to: last.address + 4)) ?? [] where rows[row.address] == nil {
                rows[row.address] = row.location
            }
        }
        var lastLocation: SourceLocation?
        var json: [JSONValue] = []
        for instruction in instructions {
            if source, let location = rows[instruction.address], location.file != lastLocation?.file || location.line != lastLocation?.line {
                let text = SourcePaths.lines(of: location.file).flatMap { $0.indices.contains(location.line - 1) ? $0[location.line - 1] : nil }
                lines.append("\(SourcePaths.display(location))\t\(text ?? "")")
                lastLocation = location
            }
            let marker = instruction.address == pc ? "=> " : "   "
            let label = session.symbols?.describe(instruction.address).map { " <\($0)>" } ?? ""
            let operands = operandsText(instruction, session)
            let text = operands.isEmpty ? instruction.mnemonic : "\(instruction.mnemonic)\t\(operands)"
            lines.append("\(marker)\(Hex.padded(instruction.address))\(label):\t\(text)")
            var fields: [(String, JSONValue)] = [
                ("address", .hex(instruction.address)), ("bytes", .string(Hex.padded(UInt64(instruction.encoding), digits: 8))),
                ("mnemonic", .string(instruction.mnemonic)), ("operands", .string(instruction.operands)),
                ("target", instruction.branchTarget.map(JSONValue.hex) ?? .null),
                ("targetSymbol", instruction.branchTarget.flatMap { session.symbols?.describe($0) }.map(JSONValue.string) ?? .null),
                ("pc", .bool(instruction.address == pc)),
            ]
            if source { fields.append(("line", rows[instruction.address].map { .int(Int64($0.line)) } ?? .null)) }
            json.append(.object(fields))
        }
        return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))],
                             json: .object([("address", .hex(address)), ("note", note.map(JSONValue.string) ?? .null),
                                            ("instructions", .array(json))]))
    }

    /// Capstone's operands, with a direct branch's `#0x…` target as `0x… <symbol+off>`.
    static func operandsText(_ instruction: Instruction, _ session: Session) -> String {
        guard let target = instruction.branchTarget else { return instruction.operands }
        let literal = "#0x" + String(target, radix: 16)
        let label = session.symbols?.describe(target).map { " <\($0)>" } ?? ""
        guard instruction.operands.contains(literal) else { return instruction.operands + label }
        return instruction.operands.replacingOccurrences(of: literal, with: Hex.format(target) + label)
    }
}
