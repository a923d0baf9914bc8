import CDwarf

/// A type as DWARF describes it: base types, pointers, structs and unions with
/// their members' offsets, arrays with bounds, typedefs, enums, qualifiers.
///
/// Types are reference objects so that recursive types (a struct holding a
/// pointer to itself) form a graph; a `DebugInfoFile` builds each DIE's type once.
/// Expression evaluators make their own (`pointer(to:)`, `integer(...)`).
public final class DebugType: @unchecked Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case void, base, pointer, structure, union, array, typedef, enumeration, const, volatile, function
    }
    /// How a base type's bytes read.
    public enum Encoding: Equatable, Sendable { case signed, unsigned, boolean, float, signedChar, unsignedChar, other }

    /// A member of a struct or union.
    public struct Member: Sendable {
        public var name: String?
        public var type: DebugType
        /// Byte offset from the start of the aggregate.
        public var offset: UInt64
        /// For a bitfield: its width and its bit offset from `offset` (least significant bit first).
        public var bitSize: UInt64?
        public var bitOffset: UInt64?
        public init(name: String?, type: DebugType, offset: UInt64, bitSize: UInt64? = nil, bitOffset: UInt64? = nil) {
            self.name = name; self.type = type; self.offset = offset; self.bitSize = bitSize; self.bitOffset = bitOffset
        }
    }

    public internal(set) var kind: Kind
    /// The DWARF name (`mm_task` for `struct mm_task`, `uint64_t`, `int`), nil when anonymous.
    public internal(set) var name: String?
    /// Size in bytes (arrays: the whole array; 0 when unknown or void).
    public internal(set) var size: UInt64
    public internal(set) var encoding: Encoding
    /// Pointee, element, typedef's or qualifier's target, enum's underlying type; nil for `void *`.
    public internal(set) var target: DebugType?
    public var members: [Member]
    /// Arrays: the element count (nil when the bound is unknown).
    public internal(set) var count: UInt64?
    public internal(set) var enumerators: [(name: String, value: Int64)]
    /// True for a struct/union/enum known only by a declaration.
    public internal(set) var isDeclaration: Bool
    /// Set when the DWARF does not describe the value's layout (Swift enums with payloads, generic
    /// declarations): printed instead of the value.
    public internal(set) var incompleteNote: String?

    public init(kind: Kind, name: String? = nil, size: UInt64 = 0, encoding: Encoding = .other, target: DebugType? = nil,
                members: [Member] = [], count: UInt64? = nil, enumerators: [(name: String, value: Int64)] = [],
                isDeclaration: Bool = false) {
        self.kind = kind; self.name = name; self.size = size; self.encoding = encoding; self.target = target
        self.members = members; self.count = count; self.enumerators = enumerators; self.isDeclaration = isDeclaration
    }

    /// An integer base type (`long`, `unsigned long`, `int`).
    public static func integer(_ name: String, size: UInt64, signed: Bool) -> DebugType {
        DebugType(kind: .base, name: name, size: size, encoding: signed ? .signed : .unsigned)
    }
    public static let long = integer("long", size: 8, signed: true)
    public static let unsignedLong = integer("unsigned long", size: 8, signed: false)
    public static let int = integer("int", size: 4, signed: true)
    public static let void = DebugType(kind: .void, name: "void")

    /// A pointer to `target` (nil: `void *`), 8 bytes.
    public static func pointer(to target: DebugType?) -> DebugType {
        DebugType(kind: .pointer, size: 8, target: target)
    }

    /// Typedefs and qualifiers looked through.
    public var resolved: DebugType {
        var type = self
        var depth = 0
        while [.typedef, .const, .volatile].contains(type.kind), let next = type.target, depth < 64 {
            type = next
            depth += 1
        }
        return type
    }

    public var isInteger: Bool {
        let type = resolved
        return type.kind == .enumeration || (type.kind == .base && type.encoding != .float)
    }
    public var isSigned: Bool {
        let type = resolved
        if type.kind == .enumeration { return type.target?.isSigned ?? true }
        return type.encoding == .signed || type.encoding == .signedChar
    }
    public var isPointer: Bool { resolved.kind == .pointer }
    public var isAggregate: Bool { [.structure, .union, .array].contains(resolved.kind) }
    public var isCharacter: Bool {
        let type = resolved
        return type.kind == .base && (type.encoding == .signedChar || type.encoding == .unsignedChar) && type.size == 1
    }

    /// The member called `name`, looking into anonymous structs and unions, with its offset from this aggregate.
    public func member(named name: String, depth: Int = 0) -> Member? {
        let aggregate = resolved
        for member in aggregate.members {
            if member.name == name { return member }
            if member.name == nil, depth < 16, var inner = member.type.member(named: name, depth: depth + 1) {
                inner.offset += member.offset
                return inner
            }
        }
        return nil
    }

    /// The type as C spells it (gdb's `whatis`): `struct mm_task *`, `char [16]`, `uint64_t`.
    public var description: String { spelled("") }

    /// The C declaration of `declarator` with this type (`char name[16]`, `struct mm_task *next`).
    public func spelled(_ declarator: String) -> String {
        func join(_ base: String, _ inner: String) -> String { inner.isEmpty ? base : base + " " + inner }
        switch kind {
        case .void: return join("void", declarator)
        case .base, .typedef: return join(name ?? "?", declarator)
        case .structure: return join("struct " + (name ?? "{...}"), declarator)
        case .union: return join("union " + (name ?? "{...}"), declarator)
        case .enumeration: return join("enum " + (name ?? "{...}"), declarator)
        case .pointer:
            let inner = "*" + declarator
            guard let target else { return join("void", inner) }
            let needsParens = target.kind == .array || target.kind == .function
            return target.spelled(needsParens ? "(\(inner))" : inner)
        case .array:
            let bound = count.map { "[\($0)]" } ?? "[]"
            return (target ?? .void).spelled(declarator + bound)
        case .const, .volatile:
            let word = kind == .const ? "const" : "volatile"
            if let target, target.kind == .pointer { return target.spelled(join(word, declarator).trimmingLeadingSpace) }
            return word + " " + (target ?? .void).spelled(declarator)
        case .function:
            if let name, declarator.isEmpty { return name }
            return (target ?? .void).spelled(declarator + "()")
        }
    }
}

private extension String {
    var trimmingLeadingSpace: String { hasPrefix(" ") ? String(dropFirst()) : self }
}

/// A global variable from the DWARF: where it lives and its type.
public struct GlobalVariable: Sendable {
    public var name: String
    /// nil when the DWARF gives no static address (a declaration only, or a register location).
    public var address: UInt64?
    public var type: DebugType
    public init(name: String, address: UInt64?, type: DebugType) {
        self.name = name; self.address = address; self.type = type
    }
}

/// Named DIEs of every unit, C units first (their layouts are exact; Swift's
/// Embedded DWARF may mis-state offsets), built on first use (lock held).
final class NameIndex {
    var variables: [String: [Dwarf_Die]] = [:]
    var types: [String: [Dwarf_Die]] = [:]
    /// How many of `types[name]` (the first ones) come from C units.
    var cTypeCounts: [String: Int] = [:]
    var built: [UInt64: DebugType] = [:]
}

extension DebugInfoFile {
    func nameIndex() throws(DebugInfoError) -> NameIndex {
        if let index = typeIndex { return index }
        let index = NameIndex()
        var units = try allUnits()
        func isC(_ unit: Unit) -> Bool {
            let language = dwarf_srclang(&unit.die)
            return [DW_LANG_C, DW_LANG_C89, DW_LANG_C99, DW_LANG_C11, 0x2c /* C17 */].contains(Int(language))
        }
        units = units.filter(isC) + units.filter { !isC($0) }
        for unit in units {
            let unitIsC = isC(unit)
            func walk(_ parent: inout Dwarf_Die, depth: Int) {
                var child = Dwarf_Die()
                var status = dwarf_child(&parent, &child)
                while status == 0 {
                    let tag = Int(dwarf_tag(&child))
                    if let name = dwarf_diename(&child).map({ String(cString: $0) }) {
                        switch tag {
                        case DW_TAG_variable: index.variables[name, default: []].append(child)
                        case DW_TAG_structure_type, DW_TAG_union_type, DW_TAG_enumeration_type, DW_TAG_typedef, DW_TAG_base_type:
                            let prefix = tag == DW_TAG_structure_type ? "struct " : tag == DW_TAG_union_type ? "union "
                                : tag == DW_TAG_enumeration_type ? "enum " : ""
                            index.types[prefix + name, default: []].append(child)
                            if unitIsC { index.cTypeCounts[prefix + name, default: 0] += 1 }
                        default: break
                        }
                    }
                    if (tag == DW_TAG_module || tag == DW_TAG_namespace), depth < 16 { walk(&child, depth: depth + 1) }
                    var next = Dwarf_Die()
                    status = dwarf_siblingof(&child, &next)
                    child = next
                }
            }
            walk(&unit.die, depth: 0)
        }
        typeIndex = index
        return index
    }

    /// The global (or file-static) variable `name`: its definition's address and type.
    /// A definition with an address wins over declarations; C units over Swift ones.
    public func globalVariable(named name: String) throws(DebugInfoError) -> GlobalVariable? {
        lock.lock(); defer { lock.unlock() }
        let index = try nameIndex()
        guard let candidates = index.variables[name] else { return nil }
        var fallback: GlobalVariable?
        for var die in candidates {
            var typeAttribute = Dwarf_Attribute()
            var typeDIE = Dwarf_Die()
            guard dwarf_attr_integrate(&die, UInt32(DW_AT_type), &typeAttribute) != nil,
                  dwarf_formref_die(&typeAttribute, &typeDIE) != nil else { continue }
            let type = buildType(&typeDIE, index: index, depth: 0)
            if let address = Self.staticAddress(&die) { return GlobalVariable(name: name, address: address, type: type) }
            if fallback == nil { fallback = GlobalVariable(name: name, address: nil, type: type) }
        }
        return fallback
    }

    /// The type called `name` as C spells it: `struct mm_task`, `union u`, `enum e`, a typedef
    /// or base type name (`uint64_t`, `int`). Complete definitions win over declarations.
    /// With `cOnly`, only definitions from C units count (Swift's Embedded DWARF may
    /// mis-state the offsets of the C types it imports).
    public func type(named name: String, cOnly: Bool = false) throws(DebugInfoError) -> DebugType? {
        lock.lock(); defer { lock.unlock() }
        let index = try nameIndex()
        let key = name.split(separator: " ").joined(separator: " ")
        guard var candidates = index.types[key] else { return nil }
        if cOnly { candidates = Array(candidates.prefix(index.cTypeCounts[key] ?? 0)) }
        var fallback: DebugType?
        for var die in candidates {
            let type = buildType(&die, index: index, depth: 0)
            if !type.isDeclaration { return type }
            fallback = fallback ?? type
        }
        return fallback
    }

    /// True when `name` is a typedef or base type name (for a parser telling casts from parentheses).
    public func isTypeName(_ name: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return (try? nameIndex())?.types[name] != nil
    }

    /// The address of a `DW_OP_addr`/`DW_OP_addrx` location (lock held).
    private static func staticAddress(_ die: inout Dwarf_Die) -> UInt64? {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr(&die, UInt32(DW_AT_location), &attribute) != nil else { return nil }
        var expression: UnsafeMutablePointer<Dwarf_Op>?
        var length = 0
        guard dwarf_getlocation(&attribute, &expression, &length) == 0, let expression, length == 1 else { return nil }
        let atom = Int(expression[0].atom)
        if atom == DW_OP_addr { return expression[0].number }
        if atom == DW_OP_addrx || atom == DW_OP_GNU_addr_index {
            var result = Dwarf_Attribute()
            var address: Dwarf_Addr = 0
            guard dwarf_getlocation_attr(&attribute, expression, &result) == 0, dwarf_formaddr(&result, &address) == 0 else { return nil }
            return address
        }
        return nil
    }

    /// The type of a type DIE, built once per DIE (lock held). Depth bounds
    /// chains of typedefs and qualifiers; cycles go through the cache.
    func buildType(_ die: inout Dwarf_Die, index: NameIndex, depth: Int) -> DebugType {
        let key = dwarf_dieoffset(&die)
        if let known = index.built[key] { return known }
        let tag = Int(dwarf_tag(&die))
        let name = dwarf_diename(&die).map { String(cString: $0) }
        let type = DebugType(kind: .void, name: name)
        index.built[key] = type
        guard depth < 200 else { return type }
        var size: Dwarf_Word = 0
        if dwarf_aggregate_size(&die, &size) == 0 { type.size = size }
        func target(_ die: inout Dwarf_Die) -> DebugType? {
            var attribute = Dwarf_Attribute()
            var typeDIE = Dwarf_Die()
            guard dwarf_attr_integrate(&die, UInt32(DW_AT_type), &attribute) != nil,
                  dwarf_formref_die(&attribute, &typeDIE) != nil else { return nil }
            return buildType(&typeDIE, index: index, depth: depth + 1)
        }
        type.isDeclaration = dwarf_hasattr(&die, UInt32(DW_AT_declaration)) != 0
        switch tag {
        case DW_TAG_base_type:
            type.kind = .base
            switch Int(Self.unsigned(&die, DW_AT_encoding) ?? 0) {
            case DW_ATE_signed: type.encoding = .signed
            case DW_ATE_unsigned: type.encoding = .unsigned
            case DW_ATE_boolean: type.encoding = .boolean
            case DW_ATE_float: type.encoding = .float
            case DW_ATE_signed_char: type.encoding = .signedChar
            case DW_ATE_unsigned_char, DW_ATE_UTF: type.encoding = .unsignedChar
            default: type.encoding = .other
            }
        case DW_TAG_pointer_type, DW_TAG_reference_type, DW_TAG_rvalue_reference_type:
            type.kind = .pointer
            type.size = 8
            type.target = target(&die)
        case DW_TAG_typedef:
            type.kind = .typedef
            type.target = target(&die)
            type.size = type.target?.size ?? 0
        case DW_TAG_const_type, DW_TAG_volatile_type, DW_TAG_restrict_type, DW_TAG_atomic_type:
            type.kind = tag == DW_TAG_volatile_type ? .volatile : tag == DW_TAG_const_type ? .const : .typedef
            type.target = target(&die)
            if tag != DW_TAG_const_type && tag != DW_TAG_volatile_type { type.name = type.target?.description }
            type.size = type.target?.size ?? 0
        case DW_TAG_structure_type, DW_TAG_class_type, DW_TAG_union_type:
            type.kind = tag == DW_TAG_union_type ? .union : .structure
            var child = Dwarf_Die()
            var status = dwarf_child(&die, &child)
            while status == 0 {
                if dwarf_tag(&child) == DW_TAG_member, let memberType = target(&child) {
                    let memberName = dwarf_diename(&child).map { String(cString: $0) }
                    var offset = Self.unsigned(&child, DW_AT_data_member_location) ?? 0
                    var bitSize: UInt64?
                    var bitOffset: UInt64?
                    if let bits = Self.unsigned(&child, DW_AT_bit_size) {
                        bitSize = bits
                        if let dataBit = Self.unsigned(&child, DW_AT_data_bit_offset) {
                            offset = dataBit / 8
                            bitOffset = dataBit % 8
                        } else if let oldBit = Self.unsigned(&child, DW_AT_bit_offset) {
                            // DWARF 2-3: counted from the storage unit's most significant bit.
                            let storage = (Self.unsigned(&child, DW_AT_byte_size) ?? memberType.size) * 8
                            bitOffset = storage >= oldBit + bits ? storage - oldBit - bits : 0
                        } else {
                            bitOffset = 0
                        }
                    }
                    type.members.append(DebugType.Member(name: memberName, type: memberType, offset: offset,
                                               bitSize: bitSize, bitOffset: bitOffset))
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
            if tag == DW_TAG_structure_type, Self.isSwift(&die) { swiftShape(&die, type, index: index, depth: depth) }
        case DW_TAG_array_type:
            type.kind = .array
            let element = target(&die) ?? .void
            // One dimension per subrange, outermost first: int a[2][3] is an array of 2 arrays of 3.
            var bounds: [UInt64?] = []
            var child = Dwarf_Die()
            var status = dwarf_child(&die, &child)
            while status == 0 {
                if dwarf_tag(&child) == DW_TAG_subrange_type {
                    if let count = Self.unsigned(&child, DW_AT_count) {
                        bounds.append(count)
                    } else if let upper = Self.unsigned(&child, DW_AT_upper_bound) {
                        bounds.append(upper &+ 1 &- (Self.unsigned(&child, DW_AT_lower_bound) ?? 0))
                    } else {
                        bounds.append(nil)
                    }
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
            if bounds.isEmpty { bounds = [nil] }
            var inner = element
            for bound in bounds.dropFirst().reversed() {
                inner = DebugType(kind: .array, size: (bound ?? 0) &* inner.size, target: inner, count: bound)
            }
            type.target = inner
            type.count = bounds[0]
            if let count = bounds[0] { type.size = count &* inner.size }
        case DW_TAG_enumeration_type:
            type.kind = .enumeration
            type.target = target(&die)
            type.encoding = type.target?.resolved.encoding ?? .unsigned
            var child = Dwarf_Die()
            var status = dwarf_child(&die, &child)
            while status == 0 {
                if dwarf_tag(&child) == DW_TAG_enumerator, let enumeratorName = dwarf_diename(&child) {
                    var attribute = Dwarf_Attribute()
                    var value: Dwarf_Sword = 0
                    if dwarf_attr(&child, UInt32(DW_AT_const_value), &attribute) != nil, dwarf_formsdata(&attribute, &value) == 0 {
                        type.enumerators.append((String(cString: enumeratorName), Int64(value)))
                    }
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
        case DW_TAG_subroutine_type:
            type.kind = .function
            type.target = target(&die)
        default:
            // Swift's and other languages' types this model does not know: an opaque blob of its size.
            type.kind = .structure
            type.name = name ?? "<\(String(tag, radix: 16))>"
        }
        return type
    }
}

// MARK: Swift's DWARF

extension DebugInfoFile {
    /// A Swift type: its DIE (or the one it specifies) has a mangled `$e…`/`$s…` linkage name.
    static func isSwift(_ die: inout Dwarf_Die) -> Bool {
        var attribute = Dwarf_Attribute()
        if dwarf_attr_integrate(&die, UInt32(DW_AT_linkage_name), &attribute) != nil, let text = dwarf_formstring(&attribute) {
            return text.pointee == UInt8(ascii: "$")
        }
        return dwarf_hasattr(&die, UInt32(DW_AT_specification)) != 0
    }

    /// Embedded Swift's structs as a C reader wants them (lock held): `Int`/`UInt64`/`Bool` (a struct holding
    /// `_value: Builtin.IntN`) become integers, `UnsafeMutablePointer<T>` a pointer to T, `Optional` of a
    /// pointer that pointer (nil = 0), an enum without payloads an enumeration of its cases (the tag is the
    /// case's index); an enum with payloads or a declaration-only generic says the DWARF lacks its layout.
    func swiftShape(_ die: inout Dwarf_Die, _ type: DebugType, index: NameIndex, depth: Int) {
        let name = type.name ?? ""
        if type.members.count == 1, type.members[0].name == "_value", type.members[0].type.resolved.kind == .base,
           name == "Bool" || name.hasPrefix("Int") || name.hasPrefix("UInt") {
            let storage = type.members[0].type.resolved
            type.kind = .base
            type.size = storage.size
            type.encoding = name == "Bool" ? .boolean : name.hasPrefix("Int") ? .signed : .unsigned
            type.members = []
            return
        }
        if name == "UnsafeMutablePointer" || name == "UnsafePointer", type.size == 8, type.members.count == 1,
           let pointee = templateParameter(of: &die, index: index, depth: depth) {
            type.kind = .pointer
            type.target = pointee
            type.members = []
            return
        }
        // A specialised Optional: no members of its own, the wrapped type as its template parameter.
        if name == "Optional", type.members.isEmpty, let wrapped = templateParameter(of: &die, index: index, depth: depth) {
            if wrapped.resolved.kind == .pointer, type.size == 8 {
                type.kind = .pointer
                type.name = "Optional"
                type.target = wrapped.resolved.target
            } else {
                type.incompleteNote = "Swift Optional<\(wrapped)>: the DWARF does not describe how nil is stored"
            }
            return
        }
        // Enums: DW_TAG_variant_part, one DW_TAG_variant per case, each with a member named after the case.
        var cases: [(name: String, payload: DebugType?)] = []
        var hasVariantPart = false
        var child = Dwarf_Die()
        var status = dwarf_child(&die, &child)
        while status == 0 {
            if dwarf_tag(&child) == DW_TAG_variant_part {
                hasVariantPart = true
                var variant = Dwarf_Die()
                var variantStatus = dwarf_child(&child, &variant)
                while variantStatus == 0 {
                    var member = Dwarf_Die()
                    if dwarf_child(&variant, &member) == 0, dwarf_tag(&member) == DW_TAG_member {
                        let caseName = dwarf_diename(&member).map { String(cString: $0) } ?? "?"
                        var attribute = Dwarf_Attribute()
                        var payloadDIE = Dwarf_Die()
                        var payload: DebugType?
                        if dwarf_attr_integrate(&member, UInt32(DW_AT_type), &attribute) != nil,
                           dwarf_formref_die(&attribute, &payloadDIE) != nil {
                            payload = buildType(&payloadDIE, index: index, depth: depth + 1)
                        }
                        cases.append((caseName, payload))
                    }
                    var next = Dwarf_Die()
                    variantStatus = dwarf_siblingof(&variant, &next)
                    variant = next
                }
            }
            var next = Dwarf_Die()
            status = dwarf_siblingof(&child, &next)
            child = next
        }
        if hasVariantPart {
            let payloads = cases.compactMap(\.payload)
            if name == "Optional", payloads.count == 1, payloads[0].resolved.kind == .pointer, type.size == 8 {
                type.kind = .pointer
                type.name = "Optional"
                type.target = payloads[0].resolved.target
                return
            }
            if payloads.isEmpty, !cases.isEmpty, type.size > 0, type.size <= 8 {
                type.kind = .enumeration
                type.target = .integer("UInt\(type.size * 8)", size: type.size, signed: false)
                type.encoding = .unsigned
                type.enumerators = cases.enumerated().map { ($0.element.name, Int64($0.offset)) }
                return
            }
            type.incompleteNote = "Swift enum \(name): the DWARF does not describe how its cases are stored"
            return
        }
        if type.members.isEmpty, type.isDeclaration || type.size == 0 {
            type.incompleteNote = "Swift type \(name): the DWARF gives no layout"
        }
    }

    /// A specialised generic's type argument: the `DW_TAG_template_type_param` of the struct or of its one member's type.
    private func templateParameter(of die: inout Dwarf_Die, index: NameIndex, depth: Int) -> DebugType? {
        func parameter(_ holder: inout Dwarf_Die) -> DebugType? {
            var child = Dwarf_Die()
            var status = dwarf_child(&holder, &child)
            while status == 0 {
                if dwarf_tag(&child) == DW_TAG_template_type_parameter {
                    var attribute = Dwarf_Attribute()
                    var typeDIE = Dwarf_Die()
                    guard dwarf_attr_integrate(&child, UInt32(DW_AT_type), &attribute) != nil,
                          dwarf_formref_die(&attribute, &typeDIE) != nil else { return nil }
                    return buildType(&typeDIE, index: index, depth: depth + 1)
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
            return nil
        }
        if let found = parameter(&die) { return found }
        var member = Dwarf_Die()
        var attribute = Dwarf_Attribute()
        var memberType = Dwarf_Die()
        guard dwarf_child(&die, &member) == 0, dwarf_attr_integrate(&member, UInt32(DW_AT_type), &attribute) != nil,
              dwarf_formref_die(&attribute, &memberType) != nil else { return nil }
        return parameter(&memberType)
    }
}
