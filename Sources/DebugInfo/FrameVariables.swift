import CDwarf

/// Where a local or argument's value is at a PC, its DWARF location evaluated in one frame.
public enum VariableLocation: Equatable, Sendable {
    /// In memory at this address (an lvalue).
    case memory(UInt64)
    /// In DWARF register `number` (x0…x30, sp), whose value in this frame is `value`.
    case register(Int, value: UInt64)
    /// Computed (`DW_OP_stack_value`, `DW_OP_implicit_value`, `DW_AT_const_value`, pieces): the bytes, little-endian.
    case value([UInt8])
    /// Not recoverable here: `optimized out` (no location at this PC, a register the frame did not save,
    /// an entry value no call site describes) or what the evaluator lacks.
    case unavailable(String)
}

/// A parameter or local variable of a frame: its type and where its value is.
public struct FrameVariable: Sendable {
    public var name: String
    public var isParameter: Bool
    public var type: DebugType
    public var location: VariableLocation
    public init(name: String, isParameter: Bool, type: DebugType, location: VariableLocation) {
        self.name = name; self.isParameter = isParameter; self.type = type; self.location = location
    }
}

/// What evaluating a frame's DWARF locations needs: the frame's registers and CFA, target memory,
/// and (for `DW_OP_entry_value`) the caller's frame.
public struct FrameState {
    public var registers: RegisterSet
    public var cfa: UInt64?
    public var read: MemoryReader
    /// The caller's registers and CFA; its PC is this frame's return address.
    public var caller: (registers: RegisterSet, cfa: UInt64?)?
    public init(registers: RegisterSet, cfa: UInt64?, read: @escaping MemoryReader,
                caller: (registers: RegisterSet, cfa: UInt64?)? = nil) {
        self.registers = registers; self.cfa = cfa; self.read = read; self.caller = caller
    }
}

extension DebugInfoFile {
    /// The parameters and locals of one source frame at `pc`, their locations evaluated in `frame`:
    /// `inlineDepth` 0 is the innermost inlined function at `pc`, the last the out-of-line function
    /// (as `frames(at:)` orders them). Lexical blocks holding `pc` are looked into; inlined calls are not.
    /// For a caller's frame pass its return address minus one, as `bt` does.
    public func frameVariables(at pc: UInt64, inlineDepth: Int, frame: FrameState) throws(DebugInfoError) -> [FrameVariable] {
        lock.lock(); defer { lock.unlock() }
        let found: (function: Dwarf_Die, chain: [Dwarf_Die])? = try firstAnswer(at: pc) { unit throws(DebugInfoError) in
            let functions = try functionIndex(of: unit)
            guard var function = functions.filter({ $0.range.contains(pc) }).min(by: { $0.range.count < $1.range.count })?.die else {
                return nil
            }
            return (function, Array(inlinedChain(in: &function, at: pc).reversed()) + [function])
        }
        guard var (function, chain) = found else { throw .notFound("no function scope covers 0x\(String(pc, radix: 16))") }
        var scope = chain[min(max(inlineDepth, 0), chain.count - 1)]
        let index = try nameIndex()
        var evaluator = LocationEvaluator(file: self, pc: pc, frame: frame)
        evaluator.frameBase = evaluator.frameBase(of: &function)
        var result: [FrameVariable] = []
        func type(of die: inout Dwarf_Die) -> DebugType {
            var typeAttribute = Dwarf_Attribute()
            var typeDIE = Dwarf_Die()
            guard dwarf_attr_integrate(&die, UInt32(DW_AT_type), &typeAttribute) != nil,
                  dwarf_formref_die(&typeAttribute, &typeDIE) != nil else { return .void }
            return buildType(&typeDIE, index: index, depth: 0)
        }
        func variable(_ die: inout Dwarf_Die, location: VariableLocation? = nil) -> FrameVariable {
            let name = dwarf_diename(&die).map { String(cString: $0) } ?? "<anonymous>"
            let variableType = type(of: &die)
            return FrameVariable(name: name, isParameter: dwarf_tag(&die) == DW_TAG_formal_parameter, type: variableType,
                                 location: location ?? evaluator.location(of: &die, size: variableType.size))
        }
        // An inlined (or out-of-line concrete) instance lists only what has a location; its abstract origin
        // lists every parameter and top-level local, in source order. As gdb, those missing here are optimized out.
        var concrete: [Dwarf_Off: FrameVariable] = [:]
        var inherited: [FrameVariable] = []
        var origin = Dwarf_Die()
        var originAttribute = Dwarf_Attribute()
        let hasOrigin = dwarf_attr(&scope, UInt32(DW_AT_abstract_origin), &originAttribute) != nil
            && dwarf_formref_die(&originAttribute, &origin) != nil
        if hasOrigin {
            var child = Dwarf_Die()
            var status = dwarf_child(&scope, &child)
            while status == 0 {
                let tag = Int(dwarf_tag(&child))
                var attribute = Dwarf_Attribute()
                var abstract = Dwarf_Die()
                if tag == DW_TAG_formal_parameter || tag == DW_TAG_variable,
                   dwarf_attr(&child, UInt32(DW_AT_abstract_origin), &attribute) != nil, dwarf_formref_die(&attribute, &abstract) != nil {
                    concrete[dwarf_dieoffset(&abstract)] = variable(&child)
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
            status = dwarf_child(&origin, &child)
            while status == 0 {
                let tag = Int(dwarf_tag(&child))
                if tag == DW_TAG_formal_parameter || tag == DW_TAG_variable {
                    inherited.append(concrete.removeValue(forKey: dwarf_dieoffset(&child)) ?? variable(&child, location: .unavailable("optimized out")))
                }
                var next = Dwarf_Die()
                status = dwarf_siblingof(&child, &next)
                child = next
            }
        }
        result = inherited
        Self.forEachVariable(in: &scope, at: pc) { die, depth in
            // Top-level instances of the abstract origin are in `inherited` already.
            if !(hasOrigin && depth == 0 && dwarf_hasattr(&die, UInt32(DW_AT_abstract_origin)) != 0) {
                result.append(variable(&die))
            }
        }
        return result
    }
}

/// A DWARF expression stack machine over one frame (lock held by the caller).
struct LocationEvaluator {
    let file: DebugInfoFile
    let pc: UInt64
    let frame: FrameState
    var frameBase: UInt64?

    init(file: DebugInfoFile, pc: UInt64, frame: FrameState) {
        self.file = file; self.pc = pc; self.frame = frame
    }

    /// `DW_AT_frame_base` of a function at `pc`: usually `DW_OP_call_frame_cfa` (the CFA) or `DW_OP_reg29`.
    func frameBase(of function: inout Dwarf_Die) -> UInt64? {
        var attribute = Dwarf_Attribute()
        guard dwarf_attr_integrate(&function, UInt32(DW_AT_frame_base), &attribute) != nil else { return nil }
        var ops: UnsafeMutablePointer<Dwarf_Op>?
        var length = 0
        guard dwarf_getlocation_addr(&attribute, pc, &ops, &length, 1) > 0, let ops, length > 0 else { return nil }
        switch evaluate(&attribute, UnsafeBufferPointer(start: ops, count: length), size: 8) {
        case .memory(let address): return address      // a computed address (DW_OP_call_frame_cfa, DW_OP_bregN)
        case .register(_, let value): return value      // DW_OP_regN: the register's contents
        default: return nil
        }
    }

    /// A variable's location at `pc`: `DW_AT_location` (an expression or a location list), else `DW_AT_const_value`.
    func location(of die: inout Dwarf_Die, size: UInt64) -> VariableLocation {
        var attribute = Dwarf_Attribute()
        if dwarf_attr_integrate(&die, UInt32(DW_AT_location), &attribute) != nil {
            var ops: UnsafeMutablePointer<Dwarf_Op>?
            var length = 0
            guard dwarf_getlocation_addr(&attribute, pc, &ops, &length, 1) > 0, let ops, length > 0 else {
                return .unavailable("optimized out")
            }
            return evaluate(&attribute, UnsafeBufferPointer(start: ops, count: length), size: size)
        }
        if dwarf_attr_integrate(&die, UInt32(DW_AT_const_value), &attribute) != nil {
            var block = Dwarf_Block()
            if dwarf_formblock(&attribute, &block) == 0, let data = block.data {
                return .value(Array(UnsafeBufferPointer(start: data, count: Int(block.length))))
            }
            var value: Dwarf_Word = 0
            if dwarf_formudata(&attribute, &value) == 0 {
                return .value((0..<max(1, min(Int(size), 8))).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) })
            }
        }
        return .unavailable("optimized out")
    }

    private struct Failure: Error { var reason: String }

    /// Evaluates one location expression; `size` is the variable's (for `DW_OP_stack_value`).
    /// `ops` must be what libdw returned for `attribute` (operand lookups find their blocks by the op's address).
    func evaluate(_ attribute: inout Dwarf_Attribute, _ ops: UnsafeBufferPointer<Dwarf_Op>, size: UInt64) -> VariableLocation {
        var pieces: [(VariableLocation, UInt64)] = []
        var stack: [UInt64] = []
        var current: VariableLocation?
        func register(_ number: Int) throws(Failure) -> UInt64 {
            guard let value = frame.registers[number] else { throw Failure(reason: "optimized out") }
            return value
        }
        func pop() throws(Failure) -> UInt64 {
            guard let top = stack.popLast() else { throw Failure(reason: "malformed DWARF expression (stack underflow)") }
            return top
        }
        func bytes(_ value: UInt64, _ count: UInt64) -> [UInt8] {
            (0..<Int(max(1, min(count, 8)))).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        }
        do throws(Failure) {
            for (position, op) in ops.enumerated() {
                let atom = Int(op.atom)
                let signed = Int64(bitPattern: op.number)
                switch atom {
                case DW_OP_lit0...(DW_OP_lit0 + 31): stack.append(UInt64(atom - DW_OP_lit0))
                case DW_OP_addr, DW_OP_const1u, DW_OP_const2u, DW_OP_const4u, DW_OP_const8u, DW_OP_constu,
                     DW_OP_const1s, DW_OP_const2s, DW_OP_const4s, DW_OP_const8s, DW_OP_consts:
                    stack.append(op.number)
                case DW_OP_addrx, DW_OP_constx, DW_OP_GNU_addr_index, DW_OP_GNU_const_index:
                    var result = Dwarf_Attribute()
                    var address: Dwarf_Addr = 0
                    guard dwarf_getlocation_attr(&attribute, ops.baseAddress! + position, &result) == 0, dwarf_formaddr(&result, &address) == 0 else { throw Failure(reason: "unreadable DW_OP_addrx") }
                    stack.append(address)
                case DW_OP_reg0...(DW_OP_reg0 + 31):
                    let number = atom - DW_OP_reg0
                    current = .register(number, value: try register(number))
                case DW_OP_regx:
                    guard op.number <= 31 else { throw Failure(reason: "register \(op.number) (not a general register) is not read") }
                    current = .register(Int(op.number), value: try register(Int(op.number)))
                case DW_OP_breg0...(DW_OP_breg0 + 31):
                    stack.append(try register(atom - DW_OP_breg0) &+ op.number)
                case DW_OP_bregx:
                    guard op.number <= 31 else { throw Failure(reason: "register \(op.number) (not a general register) is not read") }
                    stack.append(try register(Int(op.number)) &+ op.number2)
                case DW_OP_fbreg:
                    guard let frameBase else { throw Failure(reason: "frame base unknown") }
                    stack.append(frameBase &+ UInt64(bitPattern: signed))
                case DW_OP_call_frame_cfa:
                    guard let cfa = frame.cfa else { throw Failure(reason: "the frame's CFA is unknown") }
                    stack.append(cfa)
                case DW_OP_plus_uconst: stack.append(try pop() &+ op.number)
                case DW_OP_dup: let top = try pop(); stack += [top, top]
                case DW_OP_drop: _ = try pop()
                case DW_OP_over:
                    guard stack.count >= 2 else { throw Failure(reason: "malformed DWARF expression (stack underflow)") }
                    stack.append(stack[stack.count - 2])
                case DW_OP_swap: let a = try pop(), b = try pop(); stack += [a, b]
                case DW_OP_neg: stack.append(0 &- (try pop()))
                case DW_OP_not: stack.append(~(try pop()))
                case DW_OP_plus, DW_OP_minus, DW_OP_mul, DW_OP_and, DW_OP_or, DW_OP_xor, DW_OP_shl, DW_OP_shr, DW_OP_shra:
                    let b = try pop(), a = try pop()
                    switch atom {
                    case DW_OP_plus: stack.append(a &+ b)
                    case DW_OP_minus: stack.append(a &- b)
                    case DW_OP_mul: stack.append(a &* b)
                    case DW_OP_and: stack.append(a & b)
                    case DW_OP_or: stack.append(a | b)
                    case DW_OP_xor: stack.append(a ^ b)
                    case DW_OP_shl: stack.append(b >= 64 ? 0 : a << b)
                    case DW_OP_shr: stack.append(b >= 64 ? 0 : a >> b)
                    default: stack.append(UInt64(bitPattern: Int64(bitPattern: a) >> Int64(min(b, 63))))
                    }
                case DW_OP_deref, DW_OP_deref_size:
                    let count = atom == DW_OP_deref ? 8 : Int(min(op.number, 8))
                    let address = try pop()
                    let data: [UInt8]
                    do { data = try frame.read(address, count) } catch { throw Failure(reason: "cannot read 0x\(String(address, radix: 16))") }
                    var value: UInt64 = 0
                    for (i, byte) in data.prefix(8).enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
                    stack.append(value)
                case DW_OP_stack_value:
                    current = .value(bytes(try pop(), size))
                case DW_OP_implicit_value:
                    var block = Dwarf_Block()
                    guard dwarf_getlocation_implicit_value(&attribute, ops.baseAddress! + position, &block) == 0, let data = block.data else { throw Failure(reason: "unreadable DW_OP_implicit_value") }
                    current = .value(Array(UnsafeBufferPointer(start: data, count: Int(block.length))))
                case DW_OP_entry_value, DW_OP_GNU_entry_value:
                    stack.append(try entryValue(&attribute, ops, position))
                case DW_OP_piece:
                    var part = VariableLocation.unavailable("optimized out")
                    if let current { part = current } else if !stack.isEmpty { part = .memory(try pop()) }
                    pieces.append((part, op.number))
                    current = nil
                    stack.removeAll()
                default:
                    throw Failure(reason: "DWARF operation \(DebugInfoFile.describe(op)) is not evaluated")
                }
            }
        } catch {
            return .unavailable(error.reason)
        }
        if pieces.isEmpty {
            if let current { return current }
            guard let address = stack.last else { return .unavailable("optimized out") }
            return .memory(address)
        }
        // Pieces: gather each part's bytes; one part missing makes the whole value unavailable.
        var data: [UInt8] = []
        for (part, count) in pieces {
            switch part {
            case .memory(let address):
                guard let read = try? frame.read(address, Int(count)) else { return .unavailable("cannot read 0x\(String(address, radix: 16))") }
                data += read
            case .register(_, let value): data += (0..<Int(count)).map { $0 < 8 ? UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) : 0 }
            case .value(let bytes): data += (0..<Int(count)).map { $0 < bytes.count ? bytes[$0] : 0 }
            case .unavailable(let reason): return .unavailable(reason)
            }
        }
        return .value(data)
    }

    /// `DW_OP_entry_value(DW_OP_regN)`: the register's value when the function was entered, from the
    /// caller's `DW_TAG_call_site_parameter` for that register at this return address, as gdb finds it.
    private func entryValue(_ attribute: inout Dwarf_Attribute, _ ops: UnsafeBufferPointer<Dwarf_Op>, _ position: Int) throws(Failure) -> UInt64 {
        var block = Dwarf_Attribute()
        var inner: UnsafeMutablePointer<Dwarf_Op>?
        var innerLength = 0
        guard dwarf_getlocation_attr(&attribute, ops.baseAddress! + position, &block) == 0, dwarf_getlocation(&block, &inner, &innerLength) == 0, let inner, innerLength == 1 else {
            throw Failure(reason: "optimized out (entry value)")
        }
        let atom = Int(inner[0].atom)
        let register = atom >= DW_OP_reg0 && atom <= DW_OP_reg0 + 31 ? atom - DW_OP_reg0 : atom == DW_OP_regx ? Int(inner[0].number) : -1
        guard register >= 0, let caller = frame.caller, let returnAddress = caller.registers.pc else {
            throw Failure(reason: "optimized out (entry value)")
        }
        guard let value = file.callSiteValue(returnAddress: returnAddress, register: register,
                                             caller: FrameState(registers: caller.registers, cfa: caller.cfa, read: frame.read)) else {
            throw Failure(reason: "optimized out (entry value: no call site gives it)")
        }
        return value
    }
}

extension DebugInfoFile {
    /// The value the caller passed in `register` at the call returning to `returnAddress` (lock held):
    /// its `DW_TAG_call_site` (or `DW_TAG_GNU_call_site`) with that return PC, the parameter's `DW_AT_call_value`.
    func callSiteValue(returnAddress: UInt64, register: Int, caller: FrameState) -> UInt64? {
        let lookup = returnAddress &- 1
        guard let units = try? units(containing: lookup) else { return nil }
        for unit in units {
            guard let functions = try? functionIndex(of: unit),
                  var function = functions.filter({ $0.range.contains(lookup) }).min(by: { $0.range.count < $1.range.count })?.die
            else { continue }
            var evaluator = LocationEvaluator(file: self, pc: lookup, frame: caller)
            evaluator.frameBase = evaluator.frameBase(of: &function)
            var answer: UInt64?
            func walk(_ parent: inout Dwarf_Die, depth: Int) {
                var child = Dwarf_Die()
                var status = dwarf_child(&parent, &child)
                while status == 0, answer == nil {
                    let tag = Int(dwarf_tag(&child))
                    if tag == DW_TAG_call_site || tag == DW_TAG_GNU_call_site {
                        var attribute = Dwarf_Attribute()
                        var pc: Dwarf_Addr = 0
                        let returnPC = dwarf_attr(&child, UInt32(DW_AT_call_return_pc), &attribute) != nil ? attribute
                            : dwarf_attr(&child, UInt32(DW_AT_low_pc), &attribute) != nil ? attribute : nil
                        if var returnPC, dwarf_formaddr(&returnPC, &pc) == 0, pc == returnAddress {
                            answer = parameterValue(&child, register: register, evaluator: evaluator)
                            return
                        }
                    } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine), depth < 64 {
                        walk(&child, depth: depth + 1)
                    }
                    var next = Dwarf_Die()
                    status = dwarf_siblingof(&child, &next)
                    child = next
                }
            }
            walk(&function, depth: 0)
            if let answer { return answer }
        }
        return nil
    }

    private func parameterValue(_ callSite: inout Dwarf_Die, register: Int, evaluator: LocationEvaluator) -> UInt64? {
        var child = Dwarf_Die()
        var status = dwarf_child(&callSite, &child)
        while status == 0 {
            let tag = Int(dwarf_tag(&child))
            if tag == DW_TAG_call_site_parameter || tag == DW_TAG_GNU_call_site_parameter {
                var location = Dwarf_Attribute()
                var ops: UnsafeMutablePointer<Dwarf_Op>?
                var length = 0
                if dwarf_attr(&child, UInt32(DW_AT_location), &location) != nil,
                   dwarf_getlocation(&location, &ops, &length) == 0, let ops, length == 1,
                   Int(ops[0].atom) == DW_OP_reg0 + register || (Int(ops[0].atom) == DW_OP_regx && Int(ops[0].number) == register) {
                    var value = Dwarf_Attribute()
                    var valueOps: UnsafeMutablePointer<Dwarf_Op>?
                    var valueLength = 0
                    let attribute = dwarf_attr(&child, UInt32(DW_AT_call_value), &value) != nil ? true
                        : dwarf_attr(&child, UInt32(DW_AT_GNU_call_site_value), &value) != nil
                    guard attribute, dwarf_getlocation(&value, &valueOps, &valueLength) == 0, let valueOps, valueLength > 0 else { return nil }
                    // The call value is an expression whose result is the value itself (a register's contents for DW_OP_regN).
                    switch evaluator.evaluate(&value, UnsafeBufferPointer(start: valueOps, count: valueLength), size: 8) {
                    case .register(_, let registerValue): return registerValue
                    case .memory(let computed): return computed
                    case .value(let bytes):
                        var result: UInt64 = 0
                        for (i, byte) in bytes.prefix(8).enumerated() { result |= UInt64(byte) << (8 * UInt64(i)) }
                        return result
                    default: return nil
                    }
                }
            }
            var next = Dwarf_Die()
            status = dwarf_siblingof(&child, &next)
            child = next
        }
        return nil
    }
}
