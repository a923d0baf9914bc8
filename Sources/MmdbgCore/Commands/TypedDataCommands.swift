import DebugInfo
import Inspect

/// `print`, `ptype`, `whatis`: C expressions over the ELF's DWARF types (README "Expression language").
enum TypedDataCommands {
    static var all: [CommandSpec] { [print, ptype, whatis] }

    static let expressionHelp = """
        EXPR is C: numbers (0x1f, 'a'), $registers ($x0, $pc), locals and arguments of the selected frame (t, *task),
        globals from the DWARF (mm_pool) or ELF symbols, the value history ($1, $2: every print's result) and
        convenience variables ($_ = the last address `x` examined, $name set by `set var $name = EXPR`),
        . -> [i] * & - ~ ! sizeof, casts to DWARF types ((struct mm_task *)0x…, (uint64_t)x),
        * / % + - << >> < > <= >= == != & ^ | && ||, with C's precedence. Pointer arithmetic scales by the
        pointee's size. Errors name the column. See README "Expression language".
        """

    static let print = CommandSpec(
        name: "print", aliases: ["p"], group: "data",
        summary: "evaluate a C expression over the DWARF types and print its value",
        usage: "print[/x|d|u|t|c|a|s|r|pte] EXPR | print LVALUE = EXPR",
        details: expressionHelp + """

            /x hex, /d signed, /u unsigned, /t binary, /c character, /a address with its symbol (every integer in
            the value); /s as natural (char arrays and pointers are strings either way).
            Each result is numbered into the value history: `$3 = 7`, then `print $3 * 2`. In a function, its
            arguments and locals are values (`print t`, `print *t`, `print t->mm.brk` in map_page; `up` first for
            the caller's); one the DWARF does not locate at this PC prints `<optimized out>`.
            The kernel's values are shown for what they mean (on by default; /r: raw, exactly as gdb prints them):
            a task's state by name, its name as a string, user_pages/kernel_pages as the slots in use, physical
            addresses marked <free page>/<allocated page>/<outside the page pool>, a user page's flags decoded.
            /pte: any 64-bit value decoded as a translation descriptor (page, table or block), as vtop decodes one.
            """,
        examples: ["print mm_pool", "print *mm_current", "print mm_tasks[1].mm.brk", "print/x mm_current->pid",
                   "p (struct mm_task *)$x0", "p sizeof(struct mm_task)", "p &mm_tasks[2] - &mm_tasks[0]",
                   "print $1", "print $n = mm_current->pid", "print $n * 2",
                   "print mm_current->mm.user_pages", "print/r *mm_current", "print/pte 0x60000041d52f43"],
        completions: [.address]
    ) { args, session throws(CommandError) in
        guard !args.positionals.isEmpty else { throw args.usageError("give an expression: print mm_pool") }
        var format = ValueFormatter.Format.natural
        let raw = args.format == "r"
        if let letter = args.format, !raw, letter != "pte" {
            guard let chosen = ValueFormatter.format(letter: letter) else {
                throw args.usageError("unknown format /\(letter) (use /x, /d, /u, /t, /c, /a, /s, /r or /pte)")
            }
            format = chosen
        }
        let text = expressionText(args)
        // `print LVALUE = EXPR` assigns, as in gdb (`print $n = 3` sets a convenience variable).
        if let (left, right) = FrameDataCommands.splitAssignment(text) {
            return try FrameDataCommands.assign(left, right, session, command: "print")
        }
        let evaluator = TypedEvaluator(context: SessionTypedData(session: session))
        // Read once: the bytes printed are the bytes the history keeps.
        let value = try FrameDataCommands.snapshot(evaluator.evaluate(text), evaluator)
        if args.format == "pte" {
            guard value.type.resolved.isInteger || value.type.isPointer, value.type.resolved.size <= 8 else {
                throw .failed("print/pte: \(value.type) is not a 64-bit value to decode as a descriptor")
            }
            return try session.requireKernelViews(for: "print/pte").descriptorReadings(try evaluator.scalar(value))
        }
        let formatter = valueFormatter(evaluator, format: format, raw: raw, session)
        let shown = try formatter.text(value)
        var json = try formatter.json(value)
        // Every result joins the value history as $N, as gdb numbers them.
        let number = session.convenience.record(value)
        if case .object(var fields) = json {
            fields.insert(("expression", .string(text)), at: 0)
            fields.append(("history", .int(Int64(number))))
            json = .object(fields)
        }
        return .message("$\(number) = \(shown)", json: json)
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

    /// An address from an expression as gdb's `x` takes it: with DWARF, a C expression (a pointer's or integer's
    /// value; an array's, struct's or function's address; an ELF symbol without DWARF its address), else the
    /// address expression language (`map_page+0x10`).
    static func examineAddress(_ text: String, _ session: Session) throws(CommandError) -> UInt64 {
        if session.symbols != nil, let info = try? session.debugInfo(for: "x"), info.hasDebugInfo {
            let evaluator = TypedEvaluator(context: session.typedData)
            if let value = try? evaluator.evaluate(text) {
                let type = value.type.resolved
                if value.type === TypedEvaluator.noDebugData || [.array, .function, .structure, .union].contains(type.kind),
                   let address = value.address { return address }
                if value.unavailable == nil, let raw = try? evaluator.scalar(value) { return raw }
            }
        }
        return try session.evaluate(text)
    }

    /// What `watch EXPR` watches for an lvalue in memory with a DWARF type: its address and its type's size
    /// (1…4096 bytes); nil for anything else (an address expression then).
    static func watchLocation(_ text: String, _ session: Session) -> (address: UInt64, length: Int)? {
        guard session.symbols != nil, let info = try? session.debugInfo(for: "watch"), info.hasDebugInfo,
              let value = try? TypedEvaluator(context: session.typedData).evaluate(text),
              value.type !== TypedEvaluator.noDebugData, value.type.resolved.kind != .function,
              let address = value.address, value.bytes == nil, value.unavailable == nil else { return nil }
        let size = value.type.resolved.size
        guard size >= 1, size <= 4096 else { return nil }
        return (address, Int(size))
    }

    /// `$_` after `x`: the last unit's address, typed as a pointer to the unit (gdb's `x` does the same).
    static func noteExamined(_ address: UInt64, unit: Int, _ session: Session) {
        let element: DebugType = switch unit {
        case 1: TypedEvaluator.builtinTypes["char"]!
        case 2: .integer("short", size: 2, signed: true)
        case 4: .int
        default: .long
        }
        session.convenience.set("_", .scalar(address, type: .pointer(to: element)))
    }

    /// A formatter for `format`, with the kernel's pretty-printer unless `raw` (`/r`) or without the kernel ELF.
    static func valueFormatter(_ evaluator: TypedEvaluator, format: ValueFormatter.Format, raw: Bool, _ session: Session) -> ValueFormatter {
        var formatter = ValueFormatter(evaluator: evaluator, format: format)
        if !raw, !session.printRawValues, session.symbols is ELFSymbolTable { formatter.prettyPrinter = KernelValuePrinter(views: session.kernelViews) }
        return formatter
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
    /// In a caller's frame (`up`, `frame N`) x0…x30, sp and pc are the values the unwinder recovered for it.
    func registerValue(_ name: String) throws(CommandError) -> UInt64 {
        let lower = name.lowercased()
        let number: Int? = switch lower {
        case "pc": RegisterSet.pc
        case "sp": RegisterSet.sp
        case "fp": RegisterSet.fp
        case "lr": RegisterSet.lr
        default: lower.hasPrefix("x") ? Int(lower.dropFirst()).flatMap { (0...30).contains($0) ? $0 : nil } : nil
        }
        if session.selectedFrame > 0, let number, let frame = try? session.selectedBacktraceFrame(for: "$\(name)") {
            guard let value = frame.registers[number] else {
                throw .failed("$\(name) was not saved in frame \(frame.index) (its value there is unknown)")
            }
            return value
        }
        return try session.registerValue(name)
    }
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
    /// A parameter or local of the selected frame; nil when there is none by that name (or no frame to look in).
    func localVariable(_ name: String) throws(CommandError) -> TypedValue? {
        guard session.target != nil, session.symbols != nil, case .stopped = session.state,
              session.frameMayHaveVariable(name),
              let variables = try? session.frameVariables(for: "print") else { return nil }
        return variables.last { $0.name == name }?.value
    }
    func convenienceVariable(_ name: String) -> TypedValue? { session.convenience.value(name) }
    /// `mm_tasks+704` (decimal offset, as gdb prints a pointer's symbol).
    /// As gdb's `print symbol`: a data symbol without a size (an assembly label such as `boot_stack_bottom`)
    /// names nothing, and neither does a sized one the address lies past.
    func symbolize(_ address: UInt64) -> String? {
        guard let (name, offset) = session.symbols?.symbolicate(address), offset < 0x10_0000 else { return nil }
        if let elf = (session.symbols as? ELFSymbolTable)?.elf.symbolicate(address),
           let symbol = (session.symbols as? ELFSymbolTable)?.elf.symbol(named: elf.symbol), symbol.kind != .function {
            if symbol.size == 0 || offset >= symbol.size { return nil }
        }
        return offset == 0 ? name : "\(name)+\(offset)"
    }
}
