import DebugInfo

/// `bt`, `frame`, `up`, `down` and `info frame`: frames from DWARF call-frame
/// information (the x29 chain only where there is none, and said so).
enum BacktraceCommands {
    static var all: [CommandSpec] { [bt, frame, up, down] }

    static let bt = CommandSpec(
        name: "bt", aliases: ["backtrace", "where"], group: "source",
        summary: "show the call stack: function, file:line, PC and CFA of every frame",
        usage: "bt [N] [--full]",
        details: "Frames come from the ELF's call-frame information (.debug_frame, .eh_frame); a frame found by\nfollowing the x29 frame-pointer chain instead is marked `frame pointer`. Inlined functions are frames\nof their own, marked `inlined`, as in gdb. N shows the innermost N frames. --full adds each frame's\nrecovered registers. Swift functions read as `Module.function`. The last line says why unwinding ended.",
        examples: ["bt", "bt 5", "bt --full"],
        options: [OptionSpec("full", help: "also show the registers recovered for each frame")]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let limit = args.positionals.isEmpty ? Int.max : try args.count(at: 0, in: 1...10_000, name: "N")
        let trace = try session.backtrace(for: "bt")
        let shown = Array(trace.frames.prefix(limit))
        var table = TextTable(columns: [.init("#", .right), .init("PC"), .init("FUNCTION"), .init("SOURCE"), .init("CFA"), .init("")])
        for frame in shown {
            if let boundary = frame.boundary { table.rows.append(["", "<\(boundary)>", "", "", "", ""]) }
            table.rows.append([(frame.index == session.selectedFrame ? "*" : "") + String(frame.index), Hex.padded(frame.pc),
                               frame.function ?? "??", frame.location.map(SourcePaths.display) ?? "",
                               frame.cfa.map { Hex.padded($0) } ?? "", notes(frame).joined(separator: ", ")])
        }
        var blocks: [OutputBlock] = []
        if let note = trace.note { blocks.append(.text("note: \(note)")) }
        blocks.append(.table(table))
        if args.flag("full") {
            for frame in shown where !frame.isInlined || frame.index == 0 {
                blocks.append(.fields([("frame \(frame.index)", frame.function ?? "??")] + registerFields(frame.registers)))
            }
        }
        let more = trace.frames.count > shown.count ? "(\(trace.frames.count - shown.count) more frames) " : ""
        blocks.append(.text("\(more)end: \(trace.end)"))
        return CommandOutput(blocks: blocks, json: .object([
            ("frames", .array(shown.map { json($0, full: args.flag("full")) })),
            ("selected", .int(Int64(session.selectedFrame))),
            ("total", .int(Int64(trace.frames.count))),
            ("end", .string(trace.end)),
            ("note", trace.note.map(JSONValue.string) ?? .null),
        ]))
    }

    static let frame = CommandSpec(
        name: "frame", aliases: ["f"], group: "source",
        summary: "select frame N of the backtrace (without N: show the selected frame)",
        usage: "frame [N]",
        details: "`list`, `info frame`, `info source` and `disas` without arguments follow the selected frame.\nEvery stop selects frame 0 again.",
        examples: ["frame", "frame 2"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let index = args.positionals.isEmpty ? session.selectedFrame : try args.count(at: 0, in: 0...100_000, name: "N")
        return describe(try session.selectFrame(index, for: "frame"), session)
    }

    static let up = CommandSpec(
        name: "up", group: "source",
        summary: "select the caller's frame (N frames up, default 1)",
        usage: "up [N]",
        examples: ["up", "up 2"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let count = args.positionals.isEmpty ? 1 : try args.count(at: 0, in: 1...100_000, name: "N")
        let trace = try session.backtrace(for: "up")
        guard session.selectedFrame + 1 < trace.frames.count else { throw .failed("up: already at the outermost frame") }
        return describe(try session.selectFrame(min(session.selectedFrame + count, trace.frames.count - 1), for: "up"), session)
    }

    static let down = CommandSpec(
        name: "down", group: "source",
        summary: "select the callee's frame (N frames down, default 1)",
        usage: "down [N]",
        examples: ["down", "down 2"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        let count = args.positionals.isEmpty ? 1 : try args.count(at: 0, in: 1...100_000, name: "N")
        guard session.selectedFrame > 0 else { throw .failed("down: already at the innermost frame") }
        return describe(try session.selectFrame(max(0, session.selectedFrame - count), for: "down"), session)
    }

    /// `info frame`: the selected frame in detail.
    static func infoFrame(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try args.expectCount(1...1)
        let trace = try session.backtrace(for: "info frame")
        let frame = try session.selectedBacktraceFrame(for: "info frame")
        let caller = trace.frames.first { $0.machineIndex == frame.machineIndex + 1 }
        let callee = trace.frames.last { $0.machineIndex == frame.machineIndex - 1 }
        var fields: [(String, String)] = [
            ("frame", String(frame.index)),
            ("pc", Hex.padded(frame.pc) + (session.symbols?.describe(frame.pc).map { " <\($0)>" } ?? "")),
            ("function", frame.function ?? "??"),
            ("source", frame.location.map(SourcePaths.display) ?? "(no line information)"),
            ("cfa", frame.cfa.map { Hex.padded($0) } ?? "(unknown)"),
            ("found by", methodText(frame.method)),
            ("caller", caller.map { "frame \($0.index) at \(Hex.padded($0.pc)) in \($0.function ?? "??")" } ?? "(outermost)"),
        ]
        if let callee { fields.append(("callee", "frame \(callee.index) in \(callee.function ?? "??")")) }
        if frame.isInlined { fields.append(("inlined", "yes: shares its PC and registers with the function it was inlined into")) }
        fields += registerFields(frame.registers)
        return CommandOutput(blocks: [.fields(fields)], json: json(frame, full: true, extra: [
            ("callerIndex", caller.map { .int(Int64($0.index)) } ?? .null),
        ]))
    }

    // MARK: rendering

    static func describe(_ frame: BacktraceFrame, _ session: Session) -> CommandOutput {
        var text = frame.boundary.map { "<\($0)>\n" } ?? ""
        text += "#\(frame.index)  \(Hex.padded(frame.pc)) in \(frame.function ?? "??")"
        if let location = frame.location { text += " (\(SourcePaths.display(location)))" }
        let notes = notes(frame)
        if !notes.isEmpty { text += " [\(notes.joined(separator: ", "))]" }
        var blocks: [OutputBlock] = [.text(text)]
        if let location = frame.location, let lines = SourcePaths.lines(of: location.file),
           lines.indices.contains(location.line - 1) {
            blocks.append(.text("\(location.line)\t\(lines[location.line - 1])"))
        }
        return CommandOutput(blocks: blocks, json: json(frame, full: false))
    }

    static func notes(_ frame: BacktraceFrame) -> [String] {
        var notes: [String] = []
        if frame.isInlined { notes.append("inlined") }
        if frame.method == .framePointer { notes.append("frame pointer") }
        if let program = frame.program { notes.append(program) }
        return notes
    }

    static func methodText(_ method: UnwindMethod) -> String {
        switch method {
        case .registers: return "the target's registers (innermost frame)"
        case .debugFrame: return "call-frame information (.debug_frame)"
        case .ehFrame: return "call-frame information (.eh_frame)"
        case .framePointer: return "the x29 frame-pointer chain (no call-frame information: a guess)"
        }
    }

    static func registerFields(_ registers: RegisterSet) -> [(String, String)] {
        registers.values.keys.sorted().map { ("  " + RegisterSet.name($0), Hex.padded(registers.values[$0]!)) }
    }

    static func json(_ frame: BacktraceFrame, full: Bool, extra: [(String, JSONValue)] = []) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("index", .int(Int64(frame.index))), ("pc", .hex(frame.pc)),
            ("function", frame.function.map(JSONValue.string) ?? .null),
            ("rawFunction", frame.rawFunction.map(JSONValue.string) ?? .null),
            ("file", frame.location.map { .string($0.file) } ?? .null),
            ("line", frame.location.map { .int(Int64($0.line)) } ?? .null),
            ("column", frame.location.map { .int(Int64($0.column)) } ?? .null),
            ("cfa", frame.cfa.map(JSONValue.hex) ?? .null),
            ("inlined", .bool(frame.isInlined)), ("method", .string(frame.method.rawValue)),
            ("boundary", frame.boundary.map(JSONValue.string) ?? .null),
            ("program", frame.program.map(JSONValue.string) ?? .null),
        ]
        if full {
            fields.append(("registers", .object(frame.registers.values.keys.sorted().map {
                (RegisterSet.name($0), JSONValue.hex(frame.registers.values[$0]!))
            })))
        }
        return .object(fields + extra)
    }
}
