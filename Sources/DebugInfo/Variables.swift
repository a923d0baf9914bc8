import CDwarf

/// A parameter or local variable of the function holding a PC, with its DWARF location there.
public struct ScopeVariable: Equatable, Sendable {
    public var name: String
    public var isParameter: Bool
    /// The location at the PC, one entry per operation as `DW_OP_fbreg -8`, `DW_OP_reg0`;
    /// empty when the variable has no location there (optimized out).
    public var operations: [String]
    /// True when the location is a location list (it differs across the function).
    public var isLocationList: Bool
    /// The size of its type in bytes, when the DWARF gives one.
    public var size: UInt64?

    /// The operations joined (`DW_OP_fbreg -8`), or `optimized out`.
    public var locationText: String {
        guard !operations.isEmpty else { return "optimized out" }
        return operations.joined(separator: ", ")
    }
}

extension DebugInfoFile {
    /// The parameters and variables of the out-of-line function holding `pc`, in DWARF order (those of
    /// lexical blocks that hold `pc` too; inlined functions' own are theirs), with their locations at `pc`.
    public func variables(at pc: UInt64) throws(DebugInfoError) -> [ScopeVariable] {
        lock.lock(); defer { lock.unlock() }
        let unit = try unit(containing: pc)
        let functions = try functionIndex(of: unit)
        guard var function = functions.filter({ $0.range.contains(pc) }).min(by: { $0.range.count < $1.range.count })?.die else {
            throw .notFound("no function scope covers 0x\(String(pc, radix: 16))")
        }
        var result: [ScopeVariable] = []
        Self.forEachVariable(in: &function, at: pc) { die, _ in
            result.append(Self.variable(&die, at: pc, isParameter: Int(dwarf_tag(&die)) == DW_TAG_formal_parameter))
        }
        return result
    }

    /// Calls `body` with each parameter and variable DIE of `scope` and of the lexical blocks in it
    /// that hold `pc` (or have no range), in DWARF order, with the block depth (0: `scope` itself).
    static func forEachVariable(in scope: inout Dwarf_Die, at pc: UInt64, _ body: (inout Dwarf_Die, Int) -> Void) {
        func walk(_ parent: inout Dwarf_Die, depth: Int) {
            var child = Dwarf_Die()
            var status = dwarf_child(&parent, &child)
            while status == 0 {
                let tag = Int(dwarf_tag(&child))
                if tag == DW_TAG_formal_parameter || tag == DW_TAG_variable {
                    body(&child, depth)
                } else if tag == DW_TAG_lexical_block, depth < 64 {
                    let rangeless = dwarf_hasattr(&child, UInt32(DW_AT_low_pc)) == 0 && dwarf_hasattr(&child, UInt32(DW_AT_ranges)) == 0
                    if rangeless || dwarf_haspc(&child, pc) == 1 { walk(&child, depth: depth + 1) }
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
        }
        walk(&scope, depth: 0)
    }

    private static func variable(_ die: inout Dwarf_Die, at pc: UInt64, isParameter: Bool) -> ScopeVariable {
        let name = dwarf_diename(&die).map { String(cString: $0) } ?? "<anonymous>"
        var attribute = Dwarf_Attribute()
        var operations: [String] = []
        var isList = false
        if dwarf_attr_integrate(&die, UInt32(DW_AT_location), &attribute) != nil {
            let form = Int(dwarf_whatform(&attribute))
            isList = form == DW_FORM_sec_offset || form == DW_FORM_loclistx || form == DW_FORM_data4 || form == DW_FORM_data8
            var expression: UnsafeMutablePointer<Dwarf_Op>?
            var length = 0
            if dwarf_getlocation_addr(&attribute, pc, &expression, &length, 1) > 0, let expression {
                operations = (0..<length).map { describe(expression[$0]) }
            }
        }
        var size: UInt64?
        var typeAttribute = Dwarf_Attribute()
        var typeDIE = Dwarf_Die()
        var bytes: Dwarf_Word = 0
        if dwarf_attr_integrate(&die, UInt32(DW_AT_type), &typeAttribute) != nil,
           dwarf_formref_die(&typeAttribute, &typeDIE) != nil, dwarf_aggregate_size(&typeDIE, &bytes) == 0 {
            size = bytes
        }
        return ScopeVariable(name: name, isParameter: isParameter, operations: operations, isLocationList: isList, size: size)
    }

    /// One DWARF operation as readelf spells it (libdw decodes; it has no names for them).
    static func describe(_ op: Dwarf_Op) -> String {
        let atom = Int(op.atom)
        let signed = Int64(bitPattern: op.number)
        switch atom {
        case DW_OP_reg0...(DW_OP_reg0 + 31): return "DW_OP_reg\(atom - DW_OP_reg0)"
        case DW_OP_breg0...(DW_OP_breg0 + 31): return "DW_OP_breg\(atom - DW_OP_breg0) \(signed)"
        case DW_OP_lit0...(DW_OP_lit0 + 31): return "DW_OP_lit\(atom - DW_OP_lit0)"
        case DW_OP_fbreg: return "DW_OP_fbreg \(signed)"
        case DW_OP_addr: return "DW_OP_addr 0x\(String(op.number, radix: 16))"
        case DW_OP_regx: return "DW_OP_regx \(op.number)"
        case DW_OP_bregx: return "DW_OP_bregx \(op.number) \(Int64(bitPattern: op.number2))"
        case DW_OP_piece: return "DW_OP_piece \(op.number)"
        case DW_OP_plus_uconst: return "DW_OP_plus_uconst \(op.number)"
        case DW_OP_constu: return "DW_OP_constu \(op.number)"
        case DW_OP_consts: return "DW_OP_consts \(signed)"
        case DW_OP_call_frame_cfa: return "DW_OP_call_frame_cfa"
        case DW_OP_stack_value: return "DW_OP_stack_value"
        case DW_OP_entry_value, DW_OP_GNU_entry_value: return "DW_OP_entry_value"
        default: return "DW_OP_0x\(String(atom, radix: 16))" + (op.number != 0 ? " \(op.number)" : "")
        }
    }
}
