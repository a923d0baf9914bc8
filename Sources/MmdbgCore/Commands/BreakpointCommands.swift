import DebugInfo

/// `break`, `tbreak`, `hbreak`, `watch`, `rwatch`, `awatch`, `delete`, `info`.
enum BreakpointCommands {
    static var all: [CommandSpec] {
        [code(.software, name: "break", aliases: ["b"], temporary: false),
         code(.software, name: "tbreak", aliases: [], temporary: true),
         code(.hardware, name: "hbreak", aliases: [], temporary: false),
         watch(.writeWatch, name: "watch", what: "written"),
         watch(.readWatch, name: "rwatch", what: "read"),
         watch(.accessWatch, name: "awatch", what: "read or written"),
         delete, info]
    }

    static func code(_ kind: BreakpointKind, name: String, aliases: [String], temporary: Bool) -> CommandSpec {
        CommandSpec(
            name: name, aliases: aliases, group: "breakpoints",
            summary: temporary ? "stop once at an address or function entry, then delete the breakpoint"
                : kind == .hardware ? "stop at an address using a hardware breakpoint" : "stop at an address or function entry",
            usage: "\(name) FUNCTION|FILE:LINE|*ADDR|ADDR [--cpu N]",
            details: "FUNCTION breaks after the function's prologue, where gdb does (the line table's prologue_end,\nelse its second row); *ADDR (or any other address expression: map_page+8, $x30) breaks exactly there.\nFILE:LINE (a path suffix will do: UserPageTables.swift:170) breaks where the line's code begins;\na line without code moves to the next line that has code, and says so. A line with code in\nseveral places (inlined copies) breaks at the first; the message counts the others.\n`--cpu N`: only CPU N (0-based, QEMU's CPU#N; gdb's `thread N+1`) stops there; `continue`\nresumes past a hit on another CPU without counting it.",
            examples: ["\(name) map_page", "\(name) *map_page", "\(name) sys_fork+8", "\(name) $x30", "\(name) UserPageTables.swift:170",
                       "\(name) copy_process --cpu 0"],
            options: [OptionSpec("cpu", value: "N", help: "only this CPU (0-based) stops here")],
            completions: [.location]
        ) { args, session throws(CommandError) in
            try args.expectCount(1...1)
            let expression = args.positionals[0].text
            let place = try codeAddress(expression, session, command: name)
            let address = place.address
            var lineNote = place.note.map { "; " + $0 } ?? ""
            let lineFields = place.fields
            var cpu: Int? = nil
            if args.options["cpu"] != nil { cpu = try cpuOption(args, session) }
            let target = try session.requireStoppedTarget(for: name)
            try target.insertBreakpoint(kind, at: address, length: 4)
            var entry = session.breakpoints.add(kind: kind, address: address, length: 4, temporary: temporary,
                                                expression: expression)
            if let cpu {
                session.breakpoints.restrict(id: entry.id, toCPU: cpu)
                entry.cpu = cpu
                lineNote += " (cpu \(cpu) only)"
            }
            var entryJSON = json(entry, session)
            if case .object(let fields) = entryJSON { entryJSON = .object(fields + lineFields) }
            return .message("breakpoint \(entry.id) at \(describe(address, session))\(place.location.map { " (\($0))" } ?? "")\(lineNote)",
                            json: entryJSON)
        }
    }

    static func watch(_ kind: BreakpointKind, name: String, what: String) -> CommandSpec {
        CommandSpec(
            name: name, group: "breakpoints",
            summary: "stop before an lvalue EXPR (or LEN bytes, default 8, at ADDR) is \(what)",
            usage: "\(name) EXPR | \(name) ADDR [LEN]",
            details: "EXPR is a C expression naming memory (mm_current->mm.brk, mm_tasks[1].pid, *(uint32_t *)0x…,\na local in memory): the watchpoint covers its address and the size of its type, fixed when set, as\ngdb's `\(name) -l EXPR`\(kind == .writeWatch ? "; as gdb's, it stops after a write that changed the value and passes\nover one that did not" : ""). Otherwise ADDR is an address expression and LEN bytes (default 8) are\nwatched: AArch64 watchpoints stop BEFORE the access; `continue` steps over it.",
            examples: ["\(name) mm_current->mm.brk", "\(name) mm_tick", "\(name) mm_pool+8 8"],
            completions: [.address, .none]
        ) { args, session throws(CommandError) in
            try args.expectCount(1...2)
            let expression = args.positionals[0].text
            let address: UInt64
            let length: Int
            var valueWatch = false
            if args.positionals.count == 1, let location = TypedDataCommands.watchLocation(expression, session) {
                (address, length) = location
                valueWatch = true
            } else {
                address = try session.evaluate(expression)
                length = args.positionals.count > 1 ? try args.count(at: 1, in: 1...4096, name: "LEN") : 8
            }
            guard UInt64(length - 1) <= UInt64.max - address else {
                throw args.usageError("\(Hex.format(address)) + \(length) bytes wraps past 2^64")
            }
            let target = try session.requireStoppedTarget(for: name)
            try target.insertBreakpoint(kind, at: address, length: length)
            var entry = session.breakpoints.add(kind: kind, address: address, length: length, temporary: false,
                                                expression: expression)
            if valueWatch, kind == .writeWatch {
                session.breakpoints.watchValue(id: entry.id)
                entry.stopsOnChangeOnly = true
            }
            return .message("watchpoint \(entry.id) (\(name)) on \(length) bytes at \(describe(address, session))",
                            json: json(entry, session))
        }
    }

    static let delete = CommandSpec(
        name: "delete", aliases: ["d"], group: "breakpoints",
        summary: "delete breakpoints/watchpoints by number (all without arguments)",
        usage: "delete [ID…]",
        examples: ["delete 2", "delete"]
    ) { args, session throws(CommandError) in
        var ids: [Int] = []
        for index in args.positionals.indices { ids.append(try args.count(at: index, in: 1...Int(Int32.max), name: "ID")) }
        if ids.isEmpty { ids = session.breakpoints.entries.map(\.id) }
        for id in ids where !session.breakpoints.entries.contains(where: { $0.id == id }) {
            throw .failed("no breakpoint number \(id) (see `info breaks`)")
        }
        let target = try session.requireStoppedTarget(for: "delete")
        for id in ids {
            guard let entry = session.breakpoints.entries.first(where: { $0.id == id }) else { continue }
            try target.removeBreakpoint(entry.kind, at: entry.address, length: entry.length)
            _ = session.breakpoints.remove(id: id)
        }
        return .message(ids.isEmpty ? "no breakpoints" : "deleted \(ids.map(String.init).joined(separator: ", "))",
                        json: .object([("deleted", .array(ids.map { .int(Int64($0)) }))]))
    }

    static let info = CommandSpec(
        name: "info", group: "breakpoints",
        summary: "list breakpoints (`info breaks`); `info line`, `info source`, `info frame`, `info symbol`, `info address`, `info scope`, `info locals`, `info args`, `info display`, `info layout`",
        usage: "info breaks | info line [LOCATION] | info source | info frame | info symbol ADDR | info address SYMBOL | info scope [LOCATION] | info locals | info args | info display | info layout",
        details: "`info line LOCATION` (FUNCTION, FILE:LINE, *ADDR): the addresses a line spans, as gdb prints them.\n`info source`: the current source file. `info frame`: the selected frame (CFA, how it was found, registers).\n`info symbol ADDR`: the symbol and section holding ADDR. `info address SYMBOL`: where a variable of the\ncurrent function lives, or a symbol's address. `info scope LOCATION`: the parameters and variables\nthere with their DWARF locations. `info locals` / `info args`: the selected frame's variables and values\n(`<optimized out>` where the DWARF location gives none here). `info display`: the `display` list.\n`info layout`: the layout check of the kernel structures the views decode (KernelABI against the ELF's\nC DWARF), and which views a difference disables.",
        examples: ["info breaks", "info line map_page", "info line UserPageTables.swift:141", "info line *$pc", "info source", "info frame",
                   "info symbol $pc", "info address map_page", "info scope map_page", "info locals", "info args", "info display", "info layout"],
        completions: [.keywords(["breaks", "breakpoints", "watchpoints", "line", "source", "frame", "symbol", "address", "scope",
                                   "locals", "args", "display", "layout"]), .location]
    ) { args, session throws(CommandError) in
        try args.expectCount(1...2)
        if let topic = SourceCommands.infoTopic(args.positionals[0].text) { return try topic(args, session) }
        try args.expectCount(1...1)
        guard ["breaks", "breakpoints", "break", "b", "watchpoints"].contains(args.positionals[0].text) else {
            throw args.usageError("unknown info topic \"\(args.positionals[0].text)\"")
        }
        var table = TextTable(columns: [.init("ID", .right), .init("TYPE"), .init("ADDRESS"), .init("LEN", .right),
                                        .init("HITS", .right), .init("WHAT")])
        for entry in session.breakpoints.entries {
            table.rows.append([String(entry.id), entry.kind.rawValue + (entry.temporary ? " (temp)" : ""),
                               Hex.padded(entry.address), String(entry.length), String(entry.hits),
                               session.symbols?.describe(entry.address) ?? entry.expression])
        }
        return CommandOutput(blocks: [.table(table)],
                             json: .object([("breakpoints", .array(session.breakpoints.entries.map { json($0, session) }))]))
    }

    /// Where a code location goes: `FILE:LINE` (or `LINE` in the current file) where the line's code begins,
    /// a bare FUNCTION name after its prologue, `*ADDR` and other expressions exactly.
    /// `location`: `file:line` of the address when the DWARF knows it; `note`: a moved line.
    static func codeAddress(_ text: String, _ session: Session, command: String) throws(CommandError)
        -> (address: UInt64, location: String?, note: String?, fields: [(String, JSONValue)]) {
        var request = fileLine(text)
        if request == nil, let line = Int(text), line > 0 {
            let info = try SourceCommands.requireDWARF(session, command)
            guard let current = SourceCommands.currentLocation(session, info) else {
                throw .failed("\(command): no current source file for line \(line): give FILE:LINE")
            }
            request = (current.file, line)
        }
        if let (file, line) = request {
            let info = try SourceCommands.requireDWARF(session, command)
            let match: LineAddresses
            do throws(DebugInfoError) { match = try info.addresses(file: file, line: line) } catch {
                throw .failed("\(command): \(error)")
            }
            var note: String?
            if match.line != line { note = "line \(line) has no code, so line \(match.line)" }
            if match.addresses.count > 1 {
                note = (note.map { $0 + "; " } ?? "") + "\(match.addresses.count - 1) more place(s) with this line's code not set"
            }
            return (match.addresses[0], "\(SourcePaths.display(match.file)):\(match.line)", note,
                    [("file", .string(match.file)), ("line", .int(Int64(match.line))),
                     ("requestedLine", .int(Int64(line))), ("locations", .array(match.addresses.map(JSONValue.hex)))])
        }
        if text.hasPrefix("*") { return (try session.evaluate(String(text.dropFirst())), nil, nil, []) }
        var address = try session.evaluate(text)
        // A bare function name (not `f+8`, `$x30`): after the prologue, when the line tables know the function.
        let isName = text.first.map { $0.isLetter || $0 == "_" } ?? false
            && text.allSatisfy { $0.isLetter || $0.isNumber || "_.$".contains($0) }
        guard isName, let oracle = session.lineStepOracle, let position = oracle.stepPosition(at: address),
              position.functionEntry == address else { return (address, nil, nil, []) }
        address = oracle.postPrologueAddress(entry: address)
        let location = oracle.stepPosition(at: address).map { SourcePaths.display($0.row.location) }
        return (address, location, nil, [("function", .string(text)), ("entry", .hex(position.functionEntry!))]
                + (oracle.stepPosition(at: address).map { [("file", .string($0.row.location.file)), ("line", .int(Int64($0.row.location.line)))] } ?? []))
    }

    /// `FILE:LINE` where FILE has an extension (`UserPageTables.swift:170`); anything else is an address expression.
    static func fileLine(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let line = Int(text[text.index(after: colon)...]), line > 0 else { return nil }
        let file = String(text[..<colon])
        guard let dot = file.lastIndex(of: "."), file[file.index(after: dot)...].allSatisfy(\.isLetter),
              file.index(after: dot) < file.endIndex else { return nil }
        return (file, line)
    }

    /// `--cpu N`: a CPU the target has (0-based).
    static func cpuOption(_ args: CommandArguments, _ session: Session) throws(CommandError) -> Int {
        let text = args.options["cpu"] ?? ""
        guard let value = NumberParser.parse(text), value < 256 else { throw args.usageError("--cpu takes a CPU number 0…255, not \(text)") }
        let target = try session.requireStoppedTarget(for: "--cpu")
        let count = try target.cpuNumbers().count
        guard Int(value) < count else { throw .unavailable("no cpu \(value): the target has cpus 0-\(count - 1)") }
        return Int(value)
    }

    static func describe(_ address: UInt64, _ session: Session) -> String {
        Hex.padded(address) + (session.symbols?.describe(address).map { " <\($0)>" } ?? "")
    }

    static func json(_ entry: BreakpointTable.Entry, _ session: Session) -> JSONValue {
        .object([("id", .int(Int64(entry.id))), ("type", .string(entry.kind.rawValue)), ("address", .hex(entry.address)),
                 ("length", .int(Int64(entry.length))), ("temporary", .bool(entry.temporary)),
                 ("hits", .int(Int64(entry.hits))), ("expression", .string(entry.expression)),
                 ("symbol", session.symbols?.describe(entry.address).map(JSONValue.string) ?? .null)]
                + (entry.cpu.map { [("cpu", JSONValue.int(Int64($0)))] } ?? [])
                + (entry.stopsOnChangeOnly ? [("stopsOnChangeOnly", JSONValue.bool(true))] : []))
    }
}
