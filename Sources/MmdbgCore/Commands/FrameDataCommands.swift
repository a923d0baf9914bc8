import Foundation
import DebugInfo

/// `info locals`, `info args`, `set var`, `display`/`undisplay`/`info display`: the selected frame's
/// variables and writes through typed expressions (README "Typed data").
enum FrameDataCommands {
    static var all: [CommandSpec] { [setCommand, display, undisplay] }

    // MARK: info locals / info args

    static func infoLocals(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try variables(args, session, parameters: false)
    }

    static func infoArgs(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try variables(args, session, parameters: true)
    }

    private static func variables(_ args: CommandArguments, _ session: Session, parameters: Bool) throws(CommandError) -> CommandOutput {
        try args.expectCount(1...1)
        let command = parameters ? "info args" : "info locals"
        let frame = try session.selectedBacktraceFrame(for: command)
        let chosen = try session.frameVariables(for: command).filter { $0.isParameter == parameters }
        let formatter = TypedDataCommands.valueFormatter(TypedEvaluator(context: session.typedData), format: .natural, raw: false, session)
        var lines: [String] = []
        var entries: [JSONValue] = []
        for variable in chosen {
            // One value that cannot be read is said on its line; the others still show.
            var shown = ""
            var entry: [(String, JSONValue)] = [("name", .string(variable.name))]
            do throws(CommandError) {
                shown = try formatter.text(variable.value, depth: 0)   // as gdb's `info locals`: no `(type)` before a pointer
                if case .object(let fields) = try formatter.json(variable.value) { entry += fields }
            } catch {
                shown = "<error: \(error.description)>"
                entry += [("type", .string(variable.value.type.description)), ("error", .string(error.description))]
            }
            entry.append(("location", .string(locationText(variable.location))))
            lines.append("\(variable.name) = \(shown)")
            entries.append(.object(entry))
        }
        let empty = parameters ? "No arguments." : "No locals."
        return .message(lines.isEmpty ? empty : lines.joined(separator: "\n"), json: .object([
            ("frame", .int(Int64(frame.index))), ("function", frame.function.map(JSONValue.string) ?? .null),
            (parameters ? "args" : "locals", .array(entries)),
        ]))
    }

    static func locationText(_ location: VariableLocation) -> String {
        switch location {
        case .memory(let address): return "memory \(Hex.format(address))"
        case .register(let number, _): return "register \(RegisterSet.name(number))"
        case .value: return "computed"
        case .unavailable(let reason): return reason
        }
    }

    // MARK: set var

    static let setCommand = CommandSpec(
        name: "set", group: "data",
        summary: "write a variable, memory through a typed lvalue, a register or a convenience variable; set print raw-values",
        usage: "set var|variable LVALUE = EXPR  |  set print raw-values on|off",
        details: "LVALUE is a C expression naming memory (mm_current->mm.brk, mm_tasks[1].pid, *(uint32_t *)0x…),\na local or argument of the selected frame, a register ($x0, $pc) or a convenience variable ($name).\nEXPR is converted to LVALUE's type as C assigns. Memory is written through the gdb stub after the same\ndevice-memory check `x` makes (device and unmapped memory are refused), and memory mapped read-only at\nEL1 (kernel text, rodata) is refused too; a local held in a register is\nwritten to that register (innermost frame only). The value read back is printed.\n`set print raw-values on` turns the kernel pretty-printers off for every value (`print`, `info locals`,\n`display`), as gdb's setting of that name; `print/r` does it for one value.",
        examples: ["set var mm_tasks[1].mm.brk = mm_tasks[1].mm.brk", "set var $x9 = $x9", "set variable mm_current->counter = mm_current->counter",
                   "set var $limit = 3 * 7", "set print raw-values on", "set print raw-values off"],
        completions: [.keywords(["var", "variable", "print"]), .symbol]
    ) { args, session throws(CommandError) in
        if args.positionals.first?.text == "print" {
            let words = args.positionals.dropFirst().map(\.text)
            guard words.count == 2, words[0] == "raw-values", ["on", "off"].contains(words[1]) else {
                throw args.usageError("only `set print raw-values on|off` is known here")
            }
            session.printRawValues = words[1] == "on"
            return .message("print raw-values is \(words[1])", json: .object([("rawValues", .bool(session.printRawValues))]))
        }
        guard let first = args.positionals.first, first.text == "var" || first.text == "variable" else {
            throw args.usageError("only `set var LVALUE = EXPR` is known here: set var mm_current->pid = 7")
        }
        let text = TypedDataCommands.expressionText(args).dropFirst(first.text.count).trimmingCharacters(in: .whitespaces)
        guard let (left, right) = splitAssignment(text) else {
            throw args.usageError("give LVALUE = EXPR: set var mm_current->pid = 7")
        }
        return try assign(left, right, session, command: "set var")
    }

    /// `LEFT = RIGHT` split at the first `=` that is not part of `==`, `!=`, `<=`, `>=`; nil when there is none.
    static func splitAssignment(_ text: String) -> (String, String)? {
        let chars = Array(text)
        for i in chars.indices where chars[i] == "=" {
            let before = i > 0 ? chars[i - 1] : " "
            let after = i + 1 < chars.count ? chars[i + 1] : " "
            if "=!<>".contains(before) || after == "=" { continue }
            let left = String(chars[..<i]).trimmingCharacters(in: .whitespaces)
            let right = String(chars[(i + 1)...]).trimmingCharacters(in: .whitespaces)
            guard !left.isEmpty, !right.isEmpty else { return nil }
            return (left, right)
        }
        return nil
    }

    /// Evaluates `right`, stores it in `left`, and prints what `left` holds afterwards.
    static func assign(_ left: String, _ right: String, _ session: Session, command: String) throws(CommandError) -> CommandOutput {
        let context = session.typedData
        let evaluator = TypedEvaluator(context: context)
        let target = try evaluator.parse(left)
        let value = try evaluator.evaluate(right)
        let formatter = TypedDataCommands.valueFormatter(evaluator, format: .natural, raw: false, session)
        // A convenience variable takes the value as it is (a snapshot), as gdb's do.
        if case .register(let name) = target, !isRegisterName(name, session) {
            guard name.first?.isNumber != true else { throw .failed("\(command): history value $\(name) cannot be assigned") }
            let snapshot = try snapshot(value, evaluator)
            session.convenience.set(name, snapshot)
            return .message("$\(name) = " + (try formatter.text(snapshot)), json: try formatter.json(snapshot))
        }
        if case .register(let name) = target {
            let raw = try evaluator.scalar(value)
            let connection = try session.requireStoppedTarget(for: command)
            guard session.selectedFrame == 0 else { throw .failed("\(command): registers are written in frame 0 only (use `frame 0`)") }
            try connection.writeRegister(name, value: raw)
            session.invalidateCaches()
            let after = try evaluator.evaluate(left)
            return .message("$\(name) = " + (try formatter.text(after)), json: try formatter.json(after))
        }
        let destination = try evaluator.evaluate(target)
        let bytes = try converted(value, to: destination.type, evaluator)
        let connection = try session.requireStoppedTarget(for: command)
        if let address = destination.address, destination.unavailable == nil {
            var data = bytes
            if let field = destination.bitField {
                // A bitfield: read the bytes holding it, replace its bits.
                let span = Int((field.offset + field.size + 7) / 8)
                var old = try session.readVirtualMemory(at: address, count: span)
                var word: UInt64 = 0
                for (i, byte) in old.prefix(8).enumerated() { word |= UInt64(byte) << (8 * UInt64(i)) }
                var raw: UInt64 = 0
                for (i, byte) in bytes.prefix(8).enumerated() { raw |= UInt64(byte) << (8 * UInt64(i)) }
                let mask: UInt64 = (field.size >= 64 ? .max : (1 << field.size) - 1) << field.offset
                word = (word & ~mask) | ((raw << field.offset) & mask)
                for i in old.indices where i < 8 { old[i] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(i))) }
                data = old
            }
            // The same check `x` makes before reading: device and unmapped memory are refused.
            _ = try session.readVirtualMemory(at: address, count: data.count)
            // And read-only memory (kernel text, rodata) is refused: the kernel could not write it either.
            try session.kernelViews.requireWritable(at: address, count: data.count)
            try connection.writeMemory(at: address, bytes: data)
            session.invalidateCaches()
        } else if let register = destination.register {
            var raw: UInt64 = 0
            for (i, byte) in bytes.prefix(8).enumerated() { raw |= UInt64(byte) << (8 * UInt64(i)) }
            try connection.writeRegister(RegisterSet.name(register), value: raw)
            session.invalidateCaches()
        } else if destination.unavailable != nil {
            throw .failed("\(command): \(left) is optimized out here: nothing to write")
        } else {
            throw .failed("\(command): \(left) is not an lvalue (not in memory or a register of frame 0)")
        }
        let after = try TypedEvaluator(context: session.typedData).evaluate(left)
        let written = TypedDataCommands.valueFormatter(TypedEvaluator(context: session.typedData), format: .natural, raw: false, session)
        return .message("\(left) = \(try written.text(after))", json: try written.json(after))
    }

    static func isRegisterName(_ name: String, _ session: Session) -> Bool {
        let lower = name.lowercased()
        if ["pc", "sp", "fp", "lr", "cpsr", "xzr"].contains(lower) { return true }
        if lower.hasPrefix("x") || lower.hasPrefix("w"), let n = Int(lower.dropFirst()), (0...30).contains(n) { return true }
        return lower.contains("_el") || lower.hasPrefix("ttbr") || lower.hasPrefix("sctlr")
    }

    /// `value` in `type`'s representation: integers and pointers converted as C assigns, aggregates byte for byte.
    static func converted(_ value: TypedValue, to type: DebugType, _ evaluator: TypedEvaluator) throws(CommandError) -> [UInt8] {
        let size = Int(type.resolved.size)
        if type.isAggregate {
            let bytes = try evaluator.bytes(of: value)
            guard bytes.count == size, value.type.resolved.size == type.resolved.size else {
                throw .failed("cannot assign \(value.type) to \(type)")
            }
            return bytes
        }
        guard size > 0, size <= 8 else { throw .failed("cannot assign to a value of type \(type)") }
        let raw = try evaluator.scalar(value)
        return (0..<size).map { UInt8(truncatingIfNeeded: raw >> (8 * UInt64($0))) }
    }

    /// A value with its bytes read now (history and convenience values do not change when memory does).
    static func snapshot(_ value: TypedValue, _ evaluator: TypedEvaluator) throws(CommandError) -> TypedValue {
        guard value.unavailable == nil else { return value }
        var copy = value
        if value.type.resolved.kind != .function, value.type.resolved.size <= TypedEvaluator.maximumValueSize {
            copy.bytes = try evaluator.bytes(of: value)
        }
        return copy
    }

    // MARK: display

    static let display = CommandSpec(
        name: "display", group: "data",
        summary: "print an expression at every stop (without arguments: show every display now)",
        usage: "display[/x|d|u|t|c|a|s] [EXPR]",
        details: "Each display gets a number, as in gdb: `1: mm_current->pid = 1`. It is shown after every stop\n(continue, step, next, finish…) and in --json as the stop's `displays`. A display that cannot be\nevaluated at a stop (a local of another function) shows its error on its line. `undisplay N` removes it.",
        examples: ["display mm_current->pid", "display/x $pc", "display"],
        completions: [.symbol]
    ) { args, session throws(CommandError) in
        let list = session.displays
        if args.positionals.isEmpty {
            let shown = list.evaluate(session)
            return .message(shown.text.isEmpty ? "no displays" : shown.text, json: .object([("displays", shown.json)]))
        }
        let letter = args.format
        if let letter, ValueFormatter.format(letter: letter) == nil {
            throw args.usageError("unknown format /\(letter) (use /x, /d, /u, /t, /c, /a or /s)")
        }
        let text = TypedDataCommands.expressionText(args)
        _ = try TypedEvaluator(context: session.typedData).parse(text)
        let entry = list.add(expression: text, format: letter)
        let shown = list.evaluate(session, only: entry.number)
        return .message(shown.text, json: .object([("number", .int(Int64(entry.number))), ("expression", .string(text)),
                                                   ("format", letter.map(JSONValue.string) ?? .null), ("displays", shown.json)]))
    }

    static let undisplay = CommandSpec(
        name: "undisplay", group: "data",
        summary: "stop showing displays by number (all without arguments)",
        usage: "undisplay [N…]",
        examples: ["undisplay 1", "undisplay"]
    ) { args, session throws(CommandError) in
        var numbers: [Int] = []
        for index in args.positionals.indices { numbers.append(try args.count(at: index, in: 1...Int(Int32.max), name: "N")) }
        let list = session.displays
        if numbers.isEmpty { numbers = list.entries.map(\.number) }
        for number in numbers where !list.entries.contains(where: { $0.number == number }) {
            throw .failed("no display number \(number) (see `info display`)")
        }
        list.entries.removeAll { numbers.contains($0.number) }
        return .message(numbers.isEmpty ? "no displays" : "deleted display \(numbers.map(String.init).joined(separator: ", "))",
                        json: .object([("deleted", .array(numbers.map { .int(Int64($0)) }))]))
    }

    static func infoDisplay(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        try args.expectCount(1...1)
        let entries = session.displays.entries
        let lines = entries.map { "\($0.number):   \($0.format.map { "/\($0) " } ?? "")\($0.expression)" }
        return .message(lines.isEmpty ? "There are no auto-display expressions now."
                        : (["Auto-display expressions now in effect:", "Num Enb Expression"] + lines.map { $0 }).joined(separator: "\n"),
                        json: .object([("displays", .array(entries.map { entry in
                            .object([("number", .int(Int64(entry.number))), ("expression", .string(entry.expression)),
                                     ("format", entry.format.map(JSONValue.string) ?? .null)])
                        }))]))
    }
}

/// `display` expressions, numbered as gdb numbers them; kept for the session.
public final class DisplayList {
    public struct Entry: Sendable {
        public var number: Int
        public var expression: String
        public var format: String?
    }
    public internal(set) var entries: [Entry] = []
    private var next = 1

    func add(expression: String, format: String?) -> Entry {
        let entry = Entry(number: next, expression: expression, format: format)
        next += 1
        entries.append(entry)
        return entry
    }

    /// Every display (or one) evaluated now: `N: EXPR = VALUE` lines (an error on its line), and JSON.
    public func evaluate(_ session: Session, only: Int? = nil) -> (text: String, json: JSONValue) {
        var lines: [String] = []
        var items: [JSONValue] = []
        for entry in entries where only == nil || entry.number == only {
            let evaluator = TypedEvaluator(context: session.typedData)
            let formatter = TypedDataCommands.valueFormatter(evaluator, format: entry.format.flatMap(ValueFormatter.format(letter:)) ?? .natural,
                                                             raw: entry.format == "r", session)
            let label = "\(entry.number): \(entry.format.map { "/\($0) " } ?? "")\(entry.expression)"
            var item: [(String, JSONValue)] = [("number", .int(Int64(entry.number))), ("expression", .string(entry.expression))]
            do throws(CommandError) {
                let value = try evaluator.evaluate(entry.expression)
                lines.append("\(label) = \(try formatter.text(value))")
                item.append(("value", try formatter.json(value)))
            } catch {
                lines.append("\(label) = <error: \(error.description)>")
                item.append(("error", .string(error.description)))
            }
            items.append(.object(item))
        }
        return (lines.joined(separator: "\n"), .array(items))
    }
}

extension Session {
    /// This session's `display` expressions.
    public var displays: DisplayList {
        if let known = extensions["displays"] as? DisplayList { return known }
        let made = DisplayList()
        extensions["displays"] = made
        return made
    }
}
