import DebugInfo
import Inspect

/// `print`, `ptype`, `whatis`: C expressions over the ELF's DWARF types (README "Expression language").
enum TypedDataCommands {
    static var all: [CommandSpec] { [print, ptype, whatis] }

    static let expressionHelp = """
        EXPR is C: numbers (0x1f, 'a'), $registers ($x0, $pc), globals from the DWARF (mm_pool) or ELF symbols,
        . -> [i] * & - ~ ! sizeof, casts to DWARF types ((struct mm_task *)0x…, (uint64_t)x),
        * / % + - << >> < > <= >= == != & ^ | && ||, with C's precedence. Pointer arithmetic scales by the
        pointee's size. Errors name the column. See README "Expression language".
        """

    static let print = CommandSpec(
        name: "print", aliases: ["p"], group: "data",
        summary: "evaluate a C expression over the DWARF types and print its value",
        usage: "print[/x|d|u|t|c|r|pte] EXPR",
        details: expressionHelp + """

            /x hex, /d signed, /u unsigned, /t binary, /c character (every integer in the value).
            The kernel's values are shown for what they mean (on by default; /r: raw, exactly as gdb prints them):
            a task's state by name, its name as a string, user_pages/kernel_pages as the slots in use, physical
            addresses marked <free page>/<allocated page>/<outside the page pool>, a user page's flags decoded.
            /pte: any 64-bit value decoded as a translation descriptor (page, table or block), as vtop decodes one.
            """,
        examples: ["print mm_pool", "print *mm_current", "print mm_tasks[1].mm.brk", "print/x mm_current->pid",
                   "p (struct mm_task *)$x0", "p sizeof(struct mm_task)", "p &mm_tasks[2] - &mm_tasks[0]",
                   "print mm_current->mm.user_pages", "print/r *mm_current", "print/pte 0x60000041d52f43"],
        completions: [.address]
    ) { args, session throws(CommandError) in
        guard !args.positionals.isEmpty else { throw args.usageError("give an expression: print mm_pool") }
        var format = ValueFormatter.Format.natural
        let raw = args.format == "r"
        if let letter = args.format, !raw, letter != "pte" {
            guard let chosen = ValueFormatter.format(letter: letter) else {
                throw args.usageError("unknown format /\(letter) (use /x, /d, /u, /t, /c, /r or /pte)")
            }
            format = chosen
        }
        let text = expressionText(args)
        let evaluator = TypedEvaluator(context: SessionTypedData(session: session))
        let value = try evaluator.evaluate(text)
        if args.format == "pte" {
            guard value.type.resolved.isInteger || value.type.isPointer, value.type.resolved.size <= 8 else {
                throw .failed("print/pte: \(value.type) is not a 64-bit value to decode as a descriptor")
            }
            return try session.requireKernelViews(for: "print/pte").descriptorReadings(try evaluator.scalar(value))
        }
        var formatter = ValueFormatter(evaluator: evaluator, format: format)
        if !raw, session.symbols is ELFSymbolTable { formatter.prettyPrinter = KernelValuePrinter(views: session.kernelViews) }
        let shown = try formatter.text(value)
        var json = try formatter.json(value)
        if case .object(var fields) = json {
            fields.insert(("expression", .string(text)), at: 0)
            json = .object(fields)
        }
        return .message(shown, json: json)
    }

    static let ptype = CommandSpec(
        name: "ptype", group: "data",
        summary: "show a type, or an expression's type, spelled out (struct members with their types)",
        usage: "ptype EXPR|TYPE",
        details: expressionHelp,
        examples: ["ptype struct mm_task", "ptype mm_current", "ptype mm_tasks[0].mm", "ptype uint64_t"],
        completions: [.symbol]
    ) { args, session throws(CommandError) in
        let type = try typeOfArgument(args, session, command: "ptype")
        return .message("type = " + ValueFormatter.ptype(type), json: typeJSON(type, depth: 0))
    }

    static let whatis = CommandSpec(
        name: "whatis", group: "data",
        summary: "show the type of an expression (or what a type name names), one level",
        usage: "whatis EXPR|TYPE",
        details: expressionHelp,
        examples: ["whatis mm_pool", "whatis mm_tasks", "whatis mm_current->mm", "whatis struct mm_task"],
        completions: [.symbol]
    ) { args, session throws(CommandError) in
        var type = try typeOfArgument(args, session, command: "whatis")
        // As gdb: `whatis TYPEDEF-NAME` unrolls one level of typedef (`whatis uint64_t` = `unsigned long`).
        if CExpression.typeName(expressionText(args), isTypeName: { SessionTypedData(session: session).isTypeName($0) })?.suffixes == [],
           type.kind == .typedef, let target = type.target {
            type = target
        }
        return .message("type = \(type)", json: .object([("type", .string(type.description))]))
    }

    /// The expression as typed: the command tokenizer took `'a'` for a quoted word, so quotes go back round it.
    static func expressionText(_ args: CommandArguments) -> String {
        args.positionals.map { token in
            if case .quoted(let text) = token { return "'\(text)'" }
            return token.text
        }.joined(separator: " ")
    }

    /// A type name (`struct mm_task *`) or the type of an expression, without reading memory where C would not.
    static func typeOfArgument(_ args: CommandArguments, _ session: Session, command: String) throws(CommandError) -> DebugType {
        guard !args.positionals.isEmpty else { throw args.usageError("give an expression or a type: \(command) struct mm_task") }
        let text = expressionText(args)
        let context = SessionTypedData(session: session)
        let evaluator = TypedEvaluator(context: context)
        if let name = CExpression.typeName(text, isTypeName: { context.isTypeName($0) }) {
            return try evaluator.resolveType(name)
        }
        return try evaluator.typeOf(evaluator.parse(text))
    }

    /// `{name, kind, size, members?/target?/count?/enumerators?}`.
    static func typeJSON(_ type: DebugType, depth: Int) -> JSONValue {
        var fields: [(String, JSONValue)] = [("name", .string(type.description)), ("size", .uint(type.size))]
        let resolved = type.resolved
        switch resolved.kind {
        case .structure, .union:
            fields.append(("kind", .string(resolved.kind == .union ? "union" : "struct")))
            fields.append(("members", .array(resolved.members.map { member in
                var entry: [(String, JSONValue)] = [("name", member.name.map(JSONValue.string) ?? .null),
                                                    ("type", .string(member.type.description)), ("offset", .uint(member.offset)),
                                                    ("size", .uint(member.type.size))]
                if let bits = member.bitSize { entry.append(("bitSize", .uint(bits))); entry.append(("bitOffset", .uint(member.bitOffset ?? 0))) }
                return .object(entry)
            })))
        case .array:
            fields.append(("kind", .string("array")))
            fields.append(("count", resolved.count.map(JSONValue.uint) ?? .null))
            fields.append(("element", .string(resolved.target?.description ?? "void")))
        case .pointer:
            fields.append(("kind", .string("pointer")))
            fields.append(("target", .string(resolved.target?.description ?? "void")))
        case .enumeration:
            fields.append(("kind", .string("enum")))
            fields.append(("enumerators", .object(resolved.enumerators.map { ($0.name, .int($0.value)) })))
        default:
            fields.append(("kind", .string(resolved.kind == .void ? "void" : resolved.kind == .function ? "function" : "base")))
        }
        return .object(fields)
    }
}

/// The session as a `TypedDataContext`: memory through the device-memory guard, registers, the ELF's DWARF and symbols.
struct SessionTypedData: TypedDataContext {
    let session: Session

    private func info() throws(CommandError) -> DebugInfoFile {
        let info = try session.debugInfo(for: "print")
        guard info.hasDebugInfo else { throw .unavailable("print: the ELF has no DWARF (build it with -g)") }
        return info
    }

    func readMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8] {
        try session.readVirtualMemory(at: address, count: count)
    }
    func registerValue(_ name: String) throws(CommandError) -> UInt64 { try session.registerValue(name) }
    func globalVariable(_ name: String) throws(CommandError) -> GlobalVariable? {
        let info = try info()
        do throws(DebugInfoError) { return try info.globalVariable(named: name) } catch { throw .failed("\(name): \(error)") }
    }
    func symbol(_ name: String) throws(CommandError) -> (address: UInt64, isData: Bool) {
        guard session.symbols?.address(of: name) != nil else { throw .failed("No symbol \"\(CommandError.clip(name))\" in current context.") }
        let kind = (session.symbols as? ELFSymbolTable)?.elf.symbol(named: name)?.kind
        return (try session.symbolAddress(name), kind == .object)
    }
    func type(named name: String) throws(CommandError) -> DebugType? {
        let info = try info()
        do throws(DebugInfoError) { return try info.type(named: name) } catch { throw .failed("\(name): \(error)") }
    }
    func isTypeName(_ name: String) -> Bool {
        guard let info = try? info() else { return false }
        return info.isTypeName(name)
    }
    /// `mm_tasks+704` (decimal offset, as gdb prints a pointer's symbol).
    func symbolize(_ address: UInt64) -> String? {
        guard let (name, offset) = session.symbols?.symbolicate(address), offset < 0x10_0000 else { return nil }
        return offset == 0 ? name : "\(name)+\(offset)"
    }
}
