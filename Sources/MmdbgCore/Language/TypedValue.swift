import DebugInfo

/// What evaluating a `CExpression` needs from the session: memory, registers,
/// DWARF globals and types, ELF symbols. Tests give a fake one.
public protocol TypedDataContext {
    func readMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8]
    func registerValue(_ name: String) throws(CommandError) -> UInt64
    /// A DWARF global: its address and type; nil when the DWARF has none by that name.
    func globalVariable(_ name: String) throws(CommandError) -> GlobalVariable?
    /// An ELF symbol without a DWARF variable: its address, and whether it is data (else code).
    func symbol(_ name: String) throws(CommandError) -> (address: UInt64, isData: Bool)
    /// A named type (`struct mm_task`, `uint64_t`, `int`); nil when none.
    func type(named name: String) throws(CommandError) -> DebugType?
    func isTypeName(_ name: String) -> Bool
    /// `symbol+offset` for an address, or nil.
    func symbolize(_ address: UInt64) -> String?
    /// A parameter or local of the selected frame (they hide globals of the same name), or nil.
    func localVariable(_ name: String) throws(CommandError) -> TypedValue?
    /// A convenience variable (`$1`, `$_`, `$name`), or nil when unset.
    func convenienceVariable(_ name: String) -> TypedValue?
}

extension TypedDataContext {
    public func localVariable(_ name: String) throws(CommandError) -> TypedValue? { nil }
    public func convenienceVariable(_ name: String) -> TypedValue? { nil }
}

/// A value with its DWARF type: in target memory (an lvalue at `address`, read when needed)
/// or computed (`bytes`, little-endian).
public struct TypedValue {
    public var type: DebugType
    public var address: UInt64?
    public var bytes: [UInt8]?
    /// For a bitfield member: width and bit offset in the bytes at `address`.
    public var bitField: (size: UInt64, offset: UInt64)?
    /// The struct or union this value is a member of, and the member's name (`mm_current->state`):
    /// what a `ValuePrettyPrinter` recognises a value by.
    public var memberOf: (parent: DebugType, name: String)?
    /// Set when the value cannot be had here (`optimized out`): printed as `<optimized out>`.
    public var unavailable: String?
    /// A local held in a register of the innermost frame (DWARF number): `set var` writes that register.
    public var register: Int?

    public init(type: DebugType, address: UInt64? = nil, bytes: [UInt8]? = nil) {
        self.type = type; self.address = address; self.bytes = bytes
    }

    public static func scalar(_ value: UInt64, type: DebugType) -> TypedValue {
        let size = Int(max(1, min(type.resolved.size, 8)))
        return TypedValue(type: type, bytes: (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
    }
}

/// Evaluates expressions against a `TypedDataContext`.
public struct TypedEvaluator {
    public let context: TypedDataContext
    /// Values larger than this are refused rather than read.
    public static let maximumValueSize: UInt64 = 1 << 20

    public init(context: TypedDataContext) { self.context = context }

    public func parse(_ text: String) throws(CommandError) -> CExpression {
        try CExpression(parsing: text, isTypeName: { [context] in context.isTypeName($0) })
    }

    public func evaluate(_ text: String) throws(CommandError) -> TypedValue {
        try evaluate(parse(text))
    }

    /// The bytes of `value` (read from memory for an lvalue).
    public func bytes(of value: TypedValue) throws(CommandError) -> [UInt8] {
        if let reason = value.unavailable { throw .failed("value has been \(reason)") }
        if let bytes = value.bytes { return bytes }
        guard let address = value.address else { throw .failed("value has no contents") }
        let size = value.type.resolved.size
        guard size <= Self.maximumValueSize else {
            throw .failed("value of type \(value.type) is \(size) bytes, more than \(Self.maximumValueSize) to read")
        }
        guard size > 0 else { return [] }
        return try context.readMemory(at: address, count: Int(size))
    }

    /// An integer or pointer as 64 bits (sign-extended for signed types; bitfields extracted).
    public func scalar(_ value: TypedValue) throws(CommandError) -> UInt64 {
        let type = value.type.resolved
        if type.kind == .array, let address = value.address { return address }  // decays to a pointer
        guard type.kind == .base || type.kind == .pointer || type.kind == .enumeration else {
            throw .failed("\(value.type) is not a number or pointer")
        }
        let data = try bytes(of: value)
        var raw: UInt64 = 0
        for (i, byte) in data.prefix(8).enumerated() { raw |= UInt64(byte) << (8 * UInt64(i)) }
        let bits = UInt64(min(data.count, 8)) * 8
        if let field = value.bitField {
            raw = field.size >= 64 ? raw : (raw >> field.offset) & ((1 << field.size) - 1)
            if value.type.isSigned, field.size < 64, raw & (1 << (field.size - 1)) != 0 { raw |= ~((1 << field.size) - 1) }
            return raw
        }
        if bits < 64, bits > 0, value.type.isSigned, raw & (1 << (bits - 1)) != 0 { raw |= ~((1 << bits) - 1) }
        return raw
    }

    static let noDebugData = DebugType(kind: .base, name: "<data variable, no debug info>", size: 4, encoding: .signed)
    static let noDebugText = DebugType(kind: .function, name: "<text variable, no debug info>")

    public func resolveType(_ name: CTypeName) throws(CommandError) -> DebugType {
        var type: DebugType
        if let found = try context.type(named: name.base) {
            type = found
        } else if let builtin = Self.builtinTypes[name.base] {
            type = builtin
        } else {
            throw .failed("no type \"\(CommandError.clip(name.base))\" in the DWARF")
        }
        for suffix in name.suffixes {
            switch suffix {
            case .pointer: type = .pointer(to: type.kind == .void ? nil : type)
            case .array(let count):
                type = DebugType(kind: .array, size: count &* type.size, target: type, count: count)
            }
        }
        return type
    }

    static let builtinTypes: [String: DebugType] = [
        "void": .void, "char": DebugType(kind: .base, name: "char", size: 1, encoding: .unsignedChar),
        "signed char": DebugType(kind: .base, name: "signed char", size: 1, encoding: .signedChar),
        "unsigned char": DebugType(kind: .base, name: "unsigned char", size: 1, encoding: .unsignedChar),
        "short": .integer("short", size: 2, signed: true), "unsigned short": .integer("unsigned short", size: 2, signed: false),
        "int": .int, "unsigned int": .integer("unsigned int", size: 4, signed: false),
        "long": .long, "unsigned long": .unsignedLong, "long long": .integer("long long", size: 8, signed: true),
        "unsigned long long": .integer("unsigned long long", size: 8, signed: false),
        "_Bool": DebugType(kind: .base, name: "_Bool", size: 1, encoding: .boolean),
        "double": DebugType(kind: .base, name: "double", size: 8, encoding: .float),
        "float": DebugType(kind: .base, name: "float", size: 4, encoding: .float),
    ]

    public func evaluate(_ expression: CExpression) throws(CommandError) -> TypedValue {
        switch expression {
        case .number(let value, let typeName):
            return .scalar(value, type: Self.builtinTypes[typeName] ?? .long)
        case .register(let name):
            if let value = context.convenienceVariable(name) { return value }
            // As gdb types them: $pc a code pointer, $sp a `void *`, the rest `long`.
            let type: DebugType = switch name.lowercased() {
            case "pc": .pointer(to: DebugType(kind: .function))
            case "sp": .pointer(to: nil)
            default: .long
            }
            return .scalar(try context.registerValue(name), type: type)
        case .identifier(let name):
            if let local = try context.localVariable(name) { return local }
            if let global = try context.globalVariable(name), let address = global.address {
                return TypedValue(type: global.type, address: address)
            }
            // As gdb: code is `{<text variable, no debug info>} 0x…`, data an `int` there.
            let (address, isData) = try context.symbol(name)
            return TypedValue(type: isData ? Self.noDebugData : Self.noDebugText, address: address)
        case .member(let base, let name):
            return try member(of: try evaluate(base), name)
        case .arrow(let base, let name):
            let pointer = try evaluate(base)
            guard pointer.type.isPointer || pointer.type.resolved.kind == .array else {
                throw .failed("-> \(name): \(pointer.type) is not a pointer (use .)")
            }
            return try member(of: try dereference(pointer), name)
        case .index(let base, let subscriptExpression):
            let array = try evaluate(base)
            let index = try evaluate(subscriptExpression)
            guard index.type.isInteger else { throw .failed("array index of type \(index.type) is not an integer") }
            return try dereference(try add(array, index, negate: false))
        case .unary(let op, let operandExpression):
            let operand = try evaluate(operandExpression)
            switch op {
            case "*": return try dereference(operand)
            case "&":
                guard let address = operand.address, operand.bitField == nil else { throw .failed("cannot take the address of a value not in memory") }
                return .scalar(address, type: .pointer(to: operand.type))
            case "!": return .scalar(try truth(operand) ? 0 : 1, type: .int)
            default:
                let (value, type) = try promoted(operand)
                return .scalar(op == "-" ? 0 &- value : ~value, type: type)
            }
        case .cast(let typeName, let operandExpression):
            let type = try resolveType(typeName)
            let operand = try evaluate(operandExpression)
            if type.isAggregate {
                guard let address = operand.address else { throw .failed("cannot cast a value not in memory to \(type)") }
                return TypedValue(type: type, address: address)
            }
            if type.resolved.kind == .void { return TypedValue(type: type, bytes: []) }
            return .scalar(try scalar(operand), type: type)
        case .sizeofType(let typeName):
            return .scalar(try resolveType(typeName).size, type: .unsignedLong)
        case .sizeofExpression(let operandExpression):
            return .scalar(try typeOf(operandExpression).size, type: .unsignedLong)
        case .binary(let op, let leftExpression, let rightExpression):
            let left = try evaluate(leftExpression)
            if op == "&&" || op == "||" {
                let leftTrue = try truth(left)
                if op == "&&" && !leftTrue { return .scalar(0, type: .int) }
                if op == "||" && leftTrue { return .scalar(1, type: .int) }
                return .scalar(try truth(try evaluate(rightExpression)) ? 1 : 0, type: .int)
            }
            return try binary(op, left, try evaluate(rightExpression))
        }
    }

    /// The type of an expression without reading memory where C would not (`sizeof`, `whatis`, `ptype`).
    public func typeOf(_ expression: CExpression) throws(CommandError) -> DebugType {
        switch expression {
        case .identifier(let name):
            if let local = try context.localVariable(name) { return local.type }
            if let global = try context.globalVariable(name) { return global.type }
        case .unary("*", let inner):
            let type = try typeOf(inner).resolved
            if type.kind == .pointer || type.kind == .array { return type.target ?? .void }
        case .member(let base, let name):
            if let member = try typeOf(base).member(named: name) { return member.type }
        case .arrow(let base, let name):
            if let member = try typeOf(base).resolved.target?.member(named: name) { return member.type }
        case .index(let base, _):
            let type = try typeOf(base).resolved
            if type.kind == .pointer || type.kind == .array, let element = type.target { return element }
        case .cast(let name, _): return try resolveType(name)
        case .unary("&", let inner): return .pointer(to: try typeOf(inner))
        default: break
        }
        return try evaluate(expression).type
    }

    private func member(of value: TypedValue, _ name: String) throws(CommandError) -> TypedValue {
        let type = value.type.resolved
        guard type.kind == .structure || type.kind == .union else {
            throw .failed("\(value.type) is not a struct or union: no member \"\(CommandError.clip(name))\"")
        }
        guard let member = type.member(named: name) else {
            throw .failed("there is no member named \"\(CommandError.clip(name))\" in \(value.type)")
        }
        var result = TypedValue(type: member.type)
        if let address = value.address {
            result.address = address &+ member.offset
        } else if let bytes = value.bytes {
            let start = Int(min(member.offset, UInt64(bytes.count)))
            let end = Int(min(member.offset + max(member.type.size, 1), UInt64(bytes.count)))
            result.bytes = Array(bytes[start..<end])
        }
        if let bits = member.bitSize { result.bitField = (bits, member.bitOffset ?? 0) }
        result.memberOf = (type, name)
        return result
    }

    private func dereference(_ pointer: TypedValue) throws(CommandError) -> TypedValue {
        let type = pointer.type.resolved
        guard type.kind == .pointer || type.kind == .array else { throw .failed("cannot dereference \(pointer.type): not a pointer") }
        guard let target = type.target, target.resolved.kind != .void else { throw .failed("cannot dereference a void pointer (cast it first)") }
        guard target.resolved.kind != .function else { throw .failed("cannot dereference a function pointer") }
        return TypedValue(type: target, address: try scalar(pointer))
    }

    private func truth(_ value: TypedValue) throws(CommandError) -> Bool { try scalar(value) != 0 }

    /// An integer operand's 64-bit value and the type arithmetic on it has (`long` or `unsigned long`).
    private func promoted(_ value: TypedValue) throws(CommandError) -> (UInt64, DebugType) {
        guard value.type.isInteger || value.type.isPointer else { throw .failed("\(value.type) is not a number") }
        let unsigned = !value.type.isSigned && value.type.resolved.size >= 8
        return (try scalar(value), unsigned ? .unsignedLong : value.type.resolved.size >= 8 ? .long : .int)
    }

    private func add(_ left: TypedValue, _ right: TypedValue, negate: Bool) throws(CommandError) -> TypedValue {
        let leftType = left.type.resolved, rightType = right.type.resolved
        let leftIsPointer = leftType.kind == .pointer || leftType.kind == .array
        let rightIsPointer = rightType.kind == .pointer || rightType.kind == .array
        if leftIsPointer && rightIsPointer && negate {
            let elementSize = max(leftType.target?.size ?? 1, 1)
            let difference = Int64(bitPattern: try scalar(left) &- scalar(right)) / Int64(elementSize)
            return .scalar(UInt64(bitPattern: difference), type: .long)
        }
        if leftIsPointer || (rightIsPointer && !negate) {
            let (pointer, offset, pointerType) = leftIsPointer ? (left, right, leftType) : (right, left, rightType)
            guard offset.type.isInteger else { throw .failed("cannot add \(offset.type) to a pointer") }
            let elementSize = pointerType.target.map { $0.resolved.kind == .void ? 1 : $0.size } ?? 1
            let delta = try scalar(offset) &* elementSize
            let result = negate ? try scalar(pointer) &- delta : try scalar(pointer) &+ delta
            let resultType = pointerType.kind == .array ? DebugType.pointer(to: pointerType.target) : pointer.type
            return .scalar(result, type: resultType)
        }
        return try arithmetic(negate ? "-" : "+", left, right)
    }

    private func binary(_ op: String, _ left: TypedValue, _ right: TypedValue) throws(CommandError) -> TypedValue {
        if op == "+" || op == "-" { return try add(left, right, negate: op == "-") }
        return try arithmetic(op, left, right)
    }

    private func arithmetic(_ op: String, _ left: TypedValue, _ right: TypedValue) throws(CommandError) -> TypedValue {
        let (a, leftType) = try promoted(left)
        let (b, rightType) = try promoted(right)
        let type: DebugType = leftType === DebugType.unsignedLong || rightType === DebugType.unsignedLong ? .unsignedLong
            : leftType === DebugType.long || rightType === DebugType.long ? .long : .int
        let signed = type !== DebugType.unsignedLong
        func compare(_ result: Bool) -> TypedValue { .scalar(result ? 1 : 0, type: .int) }
        let sa = Int64(bitPattern: a), sb = Int64(bitPattern: b)
        switch op {
        case "*": return .scalar(a &* b, type: type)
        case "/", "%":
            guard b != 0 else { throw .failed("division by zero") }
            if signed {
                if sa == .min && sb == -1 { return .scalar(op == "/" ? a : 0, type: type) }
                return .scalar(UInt64(bitPattern: op == "/" ? sa / sb : sa % sb), type: type)
            }
            return .scalar(op == "/" ? a / b : a % b, type: type)
        case "+": return .scalar(a &+ b, type: type)
        case "-": return .scalar(a &- b, type: type)
        case "<<": return .scalar(b >= 64 ? 0 : a << b, type: leftType)
        case ">>":
            if b >= 64 { return .scalar(left.type.isSigned && sa < 0 ? .max : 0, type: leftType) }
            return .scalar(left.type.isSigned ? UInt64(bitPattern: sa >> Int64(b)) : a >> b, type: leftType)
        case "&": return .scalar(a & b, type: type)
        case "|": return .scalar(a | b, type: type)
        case "^": return .scalar(a ^ b, type: type)
        case "==": return compare(a == b)
        case "!=": return compare(a != b)
        case "<": return compare(signed ? sa < sb : a < b)
        case ">": return compare(signed ? sa > sb : a > b)
        case "<=": return compare(signed ? sa <= sb : a <= b)
        case ">=": return compare(signed ? sa >= sb : a >= b)
        default: throw .failed("unknown operator \(op)")
        }
    }
}
