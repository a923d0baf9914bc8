import CDwarf
import Foundation

/// AArch64 registers by DWARF number: 0…30 = x0…x30, 31 = sp, 32 = pc.
public struct RegisterSet: Equatable, Sendable {
    public static let sp = 31
    public static let pc = 32
    public static let fp = 29
    public static let lr = 30
    /// Known values; a register the unwinder could not recover is absent.
    public var values: [Int: UInt64]
    public init(_ values: [Int: UInt64]) { self.values = values }
    public subscript(_ number: Int) -> UInt64? {
        get { values[number] }
        set { values[number] = newValue }
    }
    public var pc: UInt64? { values[Self.pc] }
    public var sp: UInt64? { values[Self.sp] }
    /// `x0`…`x30`, `sp`, `pc`.
    public static func name(_ number: Int) -> String {
        number == sp ? "sp" : number == pc ? "pc" : "x\(number)"
    }
}

/// How a frame's caller was found.
public enum UnwindMethod: String, Equatable, Sendable {
    /// The innermost frame: the target's own registers.
    case registers
    /// Call-frame information from `.debug_frame`.
    case debugFrame = "debug_frame"
    /// Call-frame information from `.eh_frame`.
    case ehFrame = "eh_frame"
    /// No call-frame information for the PC: the x29 frame-pointer chain (a guess).
    case framePointer = "frame-pointer"
}

/// One machine frame: its registers (pc, sp, and whatever could be recovered),
/// the CFA (the caller's SP at the call) when CFI gave one, and how it was found.
public struct MachineFrame: Equatable, Sendable {
    public var registers: RegisterSet
    public var cfa: UInt64?
    public var method: UnwindMethod
    public var pc: UInt64 { registers.pc ?? 0 }
    public init(registers: RegisterSet, cfa: UInt64?, method: UnwindMethod) {
        self.registers = registers
        self.cfa = cfa
        self.method = method
    }
}

/// A backtrace of machine frames, innermost first, and why it ended.
public struct MachineBacktrace: Equatable, Sendable {
    public var frames: [MachineFrame]
    /// One line: `outermost frame` (x30 undefined or pc 0), a read failure, a loop, the depth bound.
    public var end: String
    /// The last frame is one the caller's `boundary` test picked: unwinding stopped there on request.
    public var endedAtBoundary = false
    public init(frames: [MachineFrame], end: String, endedAtBoundary: Bool = false) {
        self.frames = frames
        self.end = end
        self.endedAtBoundary = endedAtBoundary
    }
}

/// Reads `count` bytes of target memory at an address, or throws.
public typealias MemoryReader = (UInt64, Int) throws -> [UInt8]

extension DebugInfoFile {
    /// The call-frame tables, opened on first use (lock held).
    private func callFrameTables() -> [(name: String, cfi: OpaquePointer)] {
        if let cfiTables { return cfiTables }
        var tables: [(name: String, cfi: OpaquePointer)] = []
        if let dwarf, let cfi = dwarf_getcfi(dwarf) { tables.append((".debug_frame", cfi)) }
        if let cfi = dwarf_getcfi_elf(elf) { tables.append((".eh_frame", cfi)) }
        cfiTables = tables
        return tables
    }

    /// True when some call-frame table has an entry for `pc`.
    public func hasCallFrameInformation(at pc: UInt64) -> Bool {
        lock.lock(); defer { lock.unlock() }
        for table in callFrameTables() {
            var frame: OpaquePointer?
            if dwarf_cfi_addrframe(table.cfi, pc, &frame) == 0 { free(UnsafeMutableRawPointer(frame)); return true }
        }
        return false
    }

    /// The caller of `frame`, or nil at the outermost frame. `isInnermost`:
    /// the frame's PC is where it stopped, not a return address (a return
    /// address is looked up at pc-1, inside the call).
    public func unwindOne(_ frame: MachineFrame, isInnermost: Bool, read: MemoryReader) throws(DebugInfoError) -> MachineFrame? {
        guard let pc = frame.registers.pc, pc != 0 else { return nil }
        let lookup = isInnermost ? pc : pc &- 1
        lock.lock()
        var found: (OpaquePointer, UnwindMethod)?
        for table in callFrameTables() {
            var cfiFrame: OpaquePointer?
            if dwarf_cfi_addrframe(table.cfi, lookup, &cfiFrame) == 0, let cfiFrame {
                found = (cfiFrame, table.name == ".debug_frame" ? .debugFrame : .ehFrame)
                break
            }
        }
        lock.unlock()
        guard let (cfiFrame, method) = found else {
            return try framePointerCaller(of: frame, read: read)
        }
        defer { free(UnsafeMutableRawPointer(cfiFrame)) }
        return try cfiCaller(of: frame, cfiFrame: cfiFrame, method: method, read: read)
    }

    /// A whole backtrace: at most `maxDepth` frames; a read failure, a frame
    /// that does not move up the stack, or a PC of 0 ends it with a reason.
    ///
    /// - `innermostFollowsCall`: the first PC is the address after a call-like
    ///   instruction (an `svc` that trapped), so its rule is looked up at pc-1
    ///   as for a return address.
    /// - `boundary`: a caller frame it returns true for is kept and ends the
    ///   trace (`endedAtBoundary`): code this file's CFI cannot describe, such as
    ///   an exception entry, whose caller the client finds its own way.
    public func backtrace(from registers: RegisterSet, maxDepth: Int = 64, innermostFollowsCall: Bool = false,
                          read: MemoryReader, boundary: ((MachineFrame) -> Bool)? = nil) -> MachineBacktrace {
        var frames = [MachineFrame(registers: registers, cfa: nil, method: .registers)]
        while true {
            guard frames.count < maxDepth else { return MachineBacktrace(frames: frames, end: "depth limit (\(maxDepth) frames)") }
            let current = frames[frames.count - 1]
            let caller: MachineFrame?
            do { caller = try unwindOne(current, isInnermost: frames.count == 1 && !innermostFollowsCall, read: read) } catch {
                return MachineBacktrace(frames: frames, end: error.description)
            }
            guard var caller else { return MachineBacktrace(frames: frames, end: "outermost frame") }
            // The CFA belongs to the frame it was computed for.
            frames[frames.count - 1].cfa = caller.cfa
            caller.cfa = nil
            guard let callerPC = caller.registers.pc, callerPC != 0 else {
                return MachineBacktrace(frames: frames, end: "outermost frame (return address 0)")
            }
            // Stacks grow down: a caller's SP below its callee's means a loop or garbage.
            if let sp = caller.registers.sp, let calleeSP = current.registers.sp, sp < calleeSP {
                return MachineBacktrace(frames: frames, end: "stack pointer went down (0x\(String(sp, radix: 16))): corrupt stack or a loop")
            }
            if let sp = caller.registers.sp, let calleeSP = current.registers.sp, sp == calleeSP, callerPC == current.pc {
                return MachineBacktrace(frames: frames, end: "frame repeats itself at 0x\(String(callerPC, radix: 16)): a loop")
            }
            frames.append(caller)
            if let boundary, boundary(caller) {
                return MachineBacktrace(frames: frames, end: "boundary at 0x\(String(callerPC, radix: 16))", endedAtBoundary: true)
            }
        }
    }

    // MARK: CFI

    /// The caller from a CFI row. The returned frame's `cfa` carries the CFA of
    /// the callee (the caller's SP); `backtrace` moves it onto the callee.
    private func cfiCaller(of frame: MachineFrame, cfiFrame: OpaquePointer, method: UnwindMethod,
                           read: MemoryReader) throws(DebugInfoError) -> MachineFrame? {
        var ops: UnsafeMutablePointer<Dwarf_Op>?
        var count = 0
        lock.lock()
        let cfaStatus = dwarf_frame_cfa(cfiFrame, &ops, &count)
        lock.unlock()
        guard cfaStatus == 0, let ops else { throw .cannotUnwind("no CFA rule at 0x\(String(frame.pc, radix: 16))") }
        let cfa = try Self.evaluate(Array(UnsafeBufferPointer(start: ops, count: count)), registers: frame.registers,
                                    cfa: nil, read: read).value
        var start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        var signal = false
        let returnColumn = Int(dwarf_frame_info(cfiFrame, &start, &end, &signal))
        var caller = RegisterSet([RegisterSet.sp: cfa])
        var opsStorage = [Dwarf_Op](repeating: Dwarf_Op(), count: 3)
        for register in 0...30 {
            var registerOps: UnsafeMutablePointer<Dwarf_Op>?
            var registerCount = 0
            let status = opsStorage.withUnsafeMutableBufferPointer { storage in
                dwarf_frame_register(cfiFrame, Int32(register), storage.baseAddress!, &registerOps, &registerCount)
            }
            guard status == 0 else { continue }
            if registerCount == 0 {
                // No ops but a pointer: same value. No ops and no pointer: undefined or
                // unspecified, which libdw does not tell apart; the AArch64 ABI keeps the
                // callee-saved registers and the link register until a rule says where they
                // went, so those keep their value (a real end shows up as no progress).
                if registerOps != nil || (19...30).contains(register) { caller[register] = frame.registers[register] }
                continue
            }
            guard let registerOps else { continue }
            let program = Array(UnsafeBufferPointer(start: registerOps, count: registerCount))
            let result = try Self.evaluate(program, registers: frame.registers, cfa: cfa, read: read)
            if result.isValue {
                caller[register] = result.value
            } else {
                caller[register] = try Self.readWord(at: result.value, read: read)
            }
        }
        // The return address column gives the caller's PC; undefined means outermost.
        guard returnColumn >= 0, let returnAddress = caller[returnColumn] else { return nil }
        // The same PC and stack again: the return address was never saved (outermost frame).
        if !makesProgress(frame, returnAddress: returnAddress, cfa: cfa) { return nil }
        caller[RegisterSet.pc] = returnAddress
        return MachineFrame(registers: caller, cfa: cfa, method: method)
    }

    /// False when unwinding would yield the same frame again (return address = PC at the same CFA).
    private func makesProgress(_ frame: MachineFrame, returnAddress: UInt64, cfa: UInt64) -> Bool {
        !(returnAddress == frame.pc && frame.registers.sp == cfa)
    }

    // MARK: frame pointers

    /// The AArch64 frame record: x29 points at {caller x29, x30}. Only a
    /// fallback: code without frame records makes this wrong, so the frame says so.
    private func framePointerCaller(of frame: MachineFrame, read: MemoryReader) throws(DebugInfoError) -> MachineFrame? {
        guard let fp = frame.registers[RegisterSet.fp], fp != 0, fp % 8 == 0 else { return nil }
        if let sp = frame.registers.sp, fp < sp {
            throw .cannotUnwind("frame pointer 0x\(String(fp, radix: 16)) is below the stack pointer 0x\(String(sp, radix: 16)): a loop or a corrupt frame chain")
        }
        let callerFP = try Self.readWord(at: fp, read: read)
        let returnAddress = try Self.readWord(at: fp &+ 8, read: read)
        guard returnAddress != 0 else { return nil }
        var registers = RegisterSet([RegisterSet.fp: callerFP, RegisterSet.lr: returnAddress,
                                     RegisterSet.pc: returnAddress, RegisterSet.sp: fp &+ 16])
        for register in 19...28 { registers[register] = frame.registers[register] }
        return MachineFrame(registers: registers, cfa: fp &+ 16, method: .framePointer)
    }

    static func readWord(at address: UInt64, read: MemoryReader) throws(DebugInfoError) -> UInt64 {
        let bytes: [UInt8]
        do { bytes = try read(address, 8) } catch {
            throw .cannotUnwind("cannot read the stack at 0x\(String(address, radix: 16)): \(error)")
        }
        guard bytes.count == 8 else { throw .cannotUnwind("short read of the stack at 0x\(String(address, radix: 16))") }
        return bytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    }

    /// The few DWARF expression operations libdw's CFI rules are made of
    /// (register + offset, CFA + offset, dereference, constants). libdw
    /// has no public evaluator for CFI rules; anything else is refused.
    static func evaluate(_ ops: [Dwarf_Op], registers: RegisterSet, cfa: UInt64?,
                         read: MemoryReader) throws(DebugInfoError) -> (value: UInt64, isValue: Bool) {
        var stack: [UInt64] = []
        var isValue = false
        func register(_ number: Int) throws(DebugInfoError) -> UInt64 {
            guard let value = registers[number] else { throw .cannotUnwind("register \(RegisterSet.name(number)) is unknown in this frame") }
            return value
        }
        func pop() throws(DebugInfoError) -> UInt64 {
            guard let value = stack.popLast() else { throw .cannotUnwind("malformed CFI expression") }
            return value
        }
        for op in ops {
            let atom = Int(op.atom)
            switch atom {
            case DW_OP_breg0...DW_OP_breg31:
                stack.append(try register(Int(atom - DW_OP_breg0)) &+ op.number)
            case DW_OP_bregx:
                stack.append(try register(Int(op.number)) &+ op.number2)
            case DW_OP_reg0...DW_OP_reg31:
                stack.append(try register(Int(atom - DW_OP_reg0))); isValue = true
            case DW_OP_regx:
                stack.append(try register(Int(op.number))); isValue = true
            case DW_OP_call_frame_cfa:
                guard let cfa else { throw .cannotUnwind("CFA used to compute itself") }
                stack.append(cfa)
            case DW_OP_plus_uconst: stack.append(try pop() &+ op.number)
            case DW_OP_lit0...DW_OP_lit31: stack.append(UInt64(atom - DW_OP_lit0))
            case DW_OP_const1u, DW_OP_const2u, DW_OP_const4u, DW_OP_const8u, DW_OP_constu,
                 DW_OP_const1s, DW_OP_const2s, DW_OP_const4s, DW_OP_const8s, DW_OP_consts:
                stack.append(op.number)
            case DW_OP_plus: let b = try pop(); stack.append(try pop() &+ b)
            case DW_OP_minus: let b = try pop(); stack.append(try pop() &- b)
            case DW_OP_deref: stack.append(try readWord(at: try pop(), read: read))
            case DW_OP_stack_value: isValue = true
            default:
                throw .cannotUnwind("CFI expression operation 0x\(String(atom, radix: 16)) is not supported")
            }
        }
        return (try pop(), isValue)
    }
}
