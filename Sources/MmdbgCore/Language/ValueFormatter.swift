import DebugInfo

/// Prints typed values as gdb does (`{pid = 1, state = 2, name = "init", '\000' <repeats 11 times>}`),
/// or as a JSON tree (`--json`): structs are objects, arrays lists, pointers `"0x…"` strings.
public struct ValueFormatter {
    /// `/s` (`string`) prints as natural does (gdb: char arrays and pointers as strings, the rest as usual);
    /// `/a` (`address`) prints every integer and pointer as `0x… <symbol+offset>`.
    public enum Format: Equatable, Sendable { case natural, hex, decimal, unsigned, binary, character, address, string }
    public let evaluator: TypedEvaluator
    public var format: Format
    /// gdb's `print elements`: arrays and strings are cut after this many.
    public var elementLimit = 200
    /// gdb's `print repeats`: runs longer than this print as `<repeats N times>`.
    public var repeatThreshold = 10
    /// Bounds nesting (a struct of arrays of structs…).
    public static let maximumDepth = 32
    /// Domain knowledge asked first for every value (nil, or `print/r`: everything as gdb prints it).
    public var prettyPrinter: ValuePrettyPrinter?

    public init(evaluator: TypedEvaluator, format: Format = .natural) {
        self.evaluator = evaluator
        self.format = format
    }

    /// Natural formatting (`/s` is natural for everything but what it changes nothing for).
    var isNatural: Bool { format == .natural || format == .string }

    /// The format letter of `print/x` (`x d u t c`), or nil when unknown.
    public static func format(letter: String) -> Format? {
        switch letter {
        case "x": return .hex
        case "d": return .decimal
        case "u": return .unsigned
        case "t": return .binary
        case "c": return .character
        case "a": return .address
        case "s": return .string
        default: return nil
        }
    }

    /// The value as the top level of `print` shows it: pointers carry their type, `(struct mm_task *) 0x…`.
    public func text(_ value: TypedValue) throws(CommandError) -> String {
        let body = try text(value, depth: 0)
        if value.type.isPointer, isNatural, !pointsToPlainChar(value.type) { return "(\(value.type)) \(body)" }
        return body
    }

    /// gdb leaves the `(type)` off a pointer only to `char` itself (cv-qualified or not; not `uint8_t`).
    private func pointsToPlainChar(_ type: DebugType) -> Bool {
        guard type.kind != .typedef, var target = type.resolved.target else { return false }
        while [.const, .volatile].contains(target.kind), let next = target.target { target = next }
        return target.kind == .base && target.name == "char"
    }

    private func isCharPointer(_ type: DebugType) -> Bool {
        type.isPointer && (type.resolved.target?.isCharacter ?? false)
    }

    public func text(_ value: TypedValue, depth: Int) throws(CommandError) -> String {
        guard depth < Self.maximumDepth else { return "{...}" }
        if value.unavailable != nil { return "<optimized out>" }
        if isNatural, let printer = prettyPrinter, let shown = try printer.text(value, formatter: self, depth: depth) {
            return shown
        }
        let type = value.type.resolved
        if let note = type.incompleteNote { return "<\(note)>" }
        switch type.kind {
        case .structure, .union:
            let bytes = try evaluator.bytes(of: value)
            let whole = TypedValue(type: value.type, bytes: bytes)
            var fields: [String] = []
            for member in type.members {
                let field = try memberValue(whole, member)
                let shown = try text(field, depth: depth + 1)
                fields.append(member.name.map { "\($0) = \(shown)" } ?? shown)
            }
            return "{" + fields.joined(separator: ", ") + "}"
        case .array:
            let element = type.target ?? .void
            let count = Int(min(type.count ?? 0, UInt64(Int32.max)))
            let bytes = try evaluator.bytes(of: value)
            let size = Int(element.size)
            if element.isCharacter, isNatural { return quoted(bytes) }
            guard size > 0 else { return "{}" }
            var items: [String] = []
            var index = 0
            var shownElements = 0
            while index < count, (index + 1) * size <= bytes.count {
                if shownElements >= elementLimit { items.append("..."); break }
                let slice = Array(bytes[(index * size)..<((index + 1) * size)])
                var run = 1
                while index + run < count, (index + run + 1) * size <= bytes.count,
                      Array(bytes[((index + run) * size)..<((index + run + 1) * size)]) == slice { run += 1 }
                let shown = try text(TypedValue(type: element, bytes: slice), depth: depth + 1)
                if run > repeatThreshold {
                    items.append("\(shown) <repeats \(run) times>")
                    index += run
                    shownElements += repeatThreshold
                } else {
                    items.append(shown)
                    index += 1
                    shownElements += 1
                }
            }
            return "{" + items.joined(separator: ", ") + "}"
        case .void:
            return "void"
        case .function:
            guard let address = value.address else { return "{\(value.type)}" }
            return "{\(value.type)} \(Hex.format(address))" + (evaluator.context.symbolize(address).map { " <\($0)>" } ?? "")
        case .pointer:
            let raw = try evaluator.scalar(value)
            if !isNatural { return integerText(raw, value.type) }
            if raw == 0, type.name == "Optional" { return "nil" }  // Swift's Optional of a pointer
            var text = Hex.format(raw)
            if let symbol = evaluator.context.symbolize(raw) { text += " <\(symbol)>" }
            if isCharPointer(value.type), raw != 0, let string = try? cString(at: raw) { text += " " + string }
            return text
        case .enumeration:
            let raw = try evaluator.scalar(value)
            if isNatural, let name = type.enumerators.first(where: { UInt64(bitPattern: $0.value) == raw })?.name { return name }
            return integerText(raw, value.type)
        case .base, .typedef, .const, .volatile:
            if type.encoding == .float, isNatural {
                let bytes = try evaluator.bytes(of: value)
                var raw: UInt64 = 0
                for (i, byte) in bytes.prefix(8).enumerated() { raw |= UInt64(byte) << (8 * UInt64(i)) }
                return type.size == 4 ? "\(Float(bitPattern: UInt32(truncatingIfNeeded: raw)))" : "\(Double(bitPattern: raw))"
            }
            let raw = try evaluator.scalar(value)
            if type.encoding == .boolean, isNatural { return raw == 0 ? "false" : raw == 1 ? "true" : "\(raw)" }
            if (type.isCharacter && isNatural) || format == .character {
                let byte = UInt8(truncatingIfNeeded: raw)
                return "\(value.type.isSigned ? String(Int8(bitPattern: byte)) : String(byte)) \(Self.charLiteral(byte))"
            }
            return integerText(raw, value.type)
        }
    }

    func integerText(_ raw: UInt64, _ type: DebugType) -> String {
        let size = max(1, min(type.resolved.size, 8))
        let mask: UInt64 = size >= 8 ? .max : (1 << (size * 8)) - 1
        switch format {
        case .hex: return Hex.format(raw & mask)
        case .binary: return String(raw & mask, radix: 2)
        case .unsigned: return String(raw & mask)
        case .decimal:
            let shift = 64 - size * 8
            return String(Int64(bitPattern: raw << shift) >> Int64(shift))
        case .address:
            let address = raw & mask
            return Hex.format(address) + (address == 0 ? "" : evaluator.context.symbolize(address).map { " <\($0)>" } ?? "")
        case .natural, .character, .string:
            return type.isSigned && !type.isPointer ? String(Int64(bitPattern: raw)) : String(raw & mask)
        }
    }

    func memberValue(_ whole: TypedValue, _ member: DebugType.Member) throws(CommandError) -> TypedValue {
        let bytes = whole.bytes ?? []
        let start = Int(min(member.offset, UInt64(bytes.count)))
        let end = Int(min(member.offset + max(member.type.size, 1), UInt64(bytes.count)))
        var value = TypedValue(type: member.type, address: whole.address.map { $0 &+ member.offset }, bytes: Array(bytes[start..<end]))
        if let bits = member.bitSize { value.bitField = (bits, member.bitOffset ?? 0) }
        if let name = member.name { value.memberOf = (whole.type.resolved, name) }
        return value
    }

    static func charLiteral(_ byte: UInt8) -> String { "'\(escape(byte, quote: "'"))'" }

    private static func escape(_ byte: UInt8, quote: Character) -> String {
        switch byte {
        case 0: return "\\000"
        case 7: return "\\a"
        case 8: return "\\b"
        case 9: return "\\t"
        case 10: return "\\n"
        case 13: return "\\r"
        case 27: return "\\033"
        case 92: return "\\\\"
        default:
            if byte == quote.asciiValue { return "\\\(quote)" }
            if byte >= 32 && byte < 127 { return String(UnicodeScalar(byte)) }
            return "\\" + String(repeating: "0", count: max(0, 3 - String(byte, radix: 8).count)) + String(byte, radix: 8)
        }
    }

    /// A char array as gdb prints it: a final NUL dropped, runs past the repeat threshold as
    /// `'c' <repeats N times>`, the rest in double quotes.
    func quoted(_ bytes: [UInt8]) -> String {
        var data = bytes
        if data.count <= elementLimit, data.last == 0 {
            // gdb stops at the first NUL when everything after it is NUL too.
            data.removeLast()
        }
        if data.allSatisfy({ $0 == 0 }), !data.isEmpty, data.count <= repeatThreshold {
            return "\"" + String(repeating: "\\000", count: data.count) + "\""
        }
        var parts: [String] = []
        var current = ""
        var index = 0
        var printed = 0
        while index < data.count {
            if printed >= elementLimit { break }
            var run = 1
            while index + run < data.count, data[index + run] == data[index] { run += 1 }
            if run > repeatThreshold {
                if !current.isEmpty { parts.append("\"\(current)\""); current = "" }
                parts.append("\(Self.charLiteral(data[index])) <repeats \(run) times>")
                index += run
                printed += repeatThreshold
            } else {
                current += Self.escape(data[index], quote: "\"")
                index += 1
                printed += 1
            }
        }
        if !current.isEmpty || parts.isEmpty { parts.append("\"\(current)\"") }
        return parts.joined(separator: ", ") + (index < data.count ? "..." : "")
    }

    private func cString(at address: UInt64) throws(CommandError) -> String {
        var collected: [UInt8] = []
        while collected.count < elementLimit {
            let chunk = try evaluator.context.readMemory(at: address &+ UInt64(collected.count), count: 64)
            if let nul = chunk.firstIndex(of: 0) { collected += chunk[..<nul]; return quoted(collected) }
            collected += chunk
        }
        return quoted(Array(collected.prefix(elementLimit))) + "..."
    }

    // MARK: JSON

    /// `{type, address?, value}`: structs are objects, arrays lists, pointers `"0x…"` strings (with `symbol`).
    public func json(_ value: TypedValue) throws(CommandError) -> JSONValue {
        var fields: [(String, JSONValue)] = [("type", .string(value.type.description))]
        if let address = value.address { fields.append(("address", .hex(address))) }
        fields.append(("value", try jsonValue(value, depth: 0)))
        return .object(fields)
    }

    private func jsonValue(_ value: TypedValue, depth: Int) throws(CommandError) -> JSONValue {
        guard depth < Self.maximumDepth else { return .null }
        if let reason = value.unavailable { return .object([("unavailable", .string(reason))]) }
        let type = value.type.resolved
        if let note = type.incompleteNote { return .object([("incomplete", .string(note))]) }
        switch type.kind {
        case .structure, .union:
            let whole = TypedValue(type: value.type, address: value.address, bytes: try evaluator.bytes(of: value))
            var fields: [(String, JSONValue)] = []
            for (i, member) in type.members.enumerated() {
                fields.append((member.name ?? "<anonymous \(i)>", try jsonValue(try memberValue(whole, member), depth: depth + 1)))
            }
            return .object(fields)
        case .array:
            let element = type.target ?? .void
            let bytes = try evaluator.bytes(of: value)
            if element.isCharacter { return .string(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)) }
            let size = Int(element.size)
            guard size > 0 else { return .array([]) }
            let count = min(Int(min(type.count ?? 0, UInt64(Int32.max))), bytes.count / size, elementLimit)
            var items: [JSONValue] = []
            for index in 0..<count {
                items.append(try jsonValue(TypedValue(type: element, bytes: Array(bytes[(index * size)..<((index + 1) * size)])), depth: depth + 1))
            }
            return .array(items)
        case .pointer:
            let raw = try evaluator.scalar(value)
            if let symbol = evaluator.context.symbolize(raw) { return .object([("pointer", .hex(raw)), ("symbol", .string(symbol))]) }
            return .hex(raw)
        case .enumeration:
            let raw = try evaluator.scalar(value)
            if let name = type.enumerators.first(where: { UInt64(bitPattern: $0.value) == raw })?.name { return .string(name) }
            return .int(Int64(bitPattern: raw))
        case .void, .function:
            return .null
        default:
            if type.encoding == .float { return .string(try text(value, depth: depth)) }
            let raw = try evaluator.scalar(value)
            if type.encoding == .boolean { return .bool(raw != 0) }
            return value.type.isSigned ? .int(Int64(bitPattern: raw)) : .uint(raw)
        }
    }

    // MARK: ptype

    /// gdb's `ptype`: a struct, union or enum spelled out one level deep, anything else as `whatis`.
    public static func ptype(_ type: DebugType) -> String {
        // Typedefs are looked through to the type they name, as gdb does.
        var base = type
        var suffix = ""
        var depth = 0
        while depth < 64 {
            depth += 1
            if [.typedef, .const, .volatile].contains(base.kind), let next = base.target { base = next; continue }
            break
        }
        let outer = base
        // Pointers and arrays to a struct: expand the struct, keep the declarator.
        while (base.kind == .pointer || base.kind == .array), let next = base.target, depth < 128 {
            depth += 1
            base = next
        }
        if outer !== base {
            let placeholder = DebugType(kind: .base, name: "\u{1}")
            suffix = rebuild(outer, innermost: placeholder).description.replacingOccurrences(of: "\u{1}", with: "")
        }
        switch base.kind {
        case .structure, .union:
            guard !base.members.isEmpty || !base.isDeclaration else { return (base.description + " {\n    <incomplete type>\n}") + suffix }
            var lines = [(base.kind == .union ? "union " : "struct ") + (base.name.map { $0 + " " } ?? "") + "{"]
            for member in base.members {
                var line = "    " + member.type.spelled(member.name ?? "")
                if let bits = member.bitSize { line += " : \(bits)" }
                lines.append(line + ";")
            }
            lines.append("}" + suffix)
            return lines.joined(separator: "\n")
        case .enumeration:
            let body = base.enumerators.map { "\($0.name)" }.joined(separator: ", ")
            return "enum " + (base.name.map { $0 + " " } ?? "") + "{\(body)}" + suffix
        default:
            return outer === base ? base.description : rebuild(outer, innermost: base).description
        }
    }

    /// `outer` (pointers and arrays down to `innermost`'s position) with `innermost` at the bottom.
    private static func rebuild(_ outer: DebugType, innermost: DebugType) -> DebugType {
        guard outer.kind == .pointer || outer.kind == .array, let next = outer.target else { return innermost }
        let inner = rebuild(next, innermost: innermost)
        return outer.kind == .pointer ? .pointer(to: inner) : DebugType(kind: .array, size: outer.size, target: inner, count: outer.count)
    }
}
