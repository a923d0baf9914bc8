import KernelABI

/// The register frame the kernel's exception entry saves (`mm_trap_frame`):
/// the interrupted context's x0…x30, SP_EL0, ELR, SPSR, and the vector kind
/// and ESR the entry recorded, so a debugger can say what interrupted it
/// without guessing.
public struct TrapFrame: Equatable, Sendable {
    public static let size = MemoryLayout<mm_trap_frame>.size

    /// What entered the kernel: the vector's type.
    public enum Kind: String, Sendable {
        case synchronous, irq, fiq, serror
    }

    public var x: [UInt64]
    public var spEL0: UInt64
    public var elr: UInt64
    public var spsr: UInt64
    /// The vector index: 0-3 EL1t, 4-7 EL1h, 8-11 EL0 AArch64, 12-15 EL0 AArch32.
    public var vector: UInt64
    /// ESR_EL1 at entry (meaningful for synchronous exceptions only).
    public var esr: UInt64

    /// Decodes `bytes` (at least `size` of them, little-endian), or nil when too short.
    public init?(bytes: [UInt8]) {
        guard bytes.count >= Self.size else { return nil }
        func word(_ offset: Int) -> UInt64 {
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        x = (0..<31).map { word(MemoryLayout<mm_trap_frame>.offset(of: \.x)! + 8 * $0) }
        spEL0 = word(MemoryLayout<mm_trap_frame>.offset(of: \.sp_el0)!)
        elr = word(MemoryLayout<mm_trap_frame>.offset(of: \.elr)!)
        spsr = word(MemoryLayout<mm_trap_frame>.offset(of: \.spsr)!)
        vector = word(MemoryLayout<mm_trap_frame>.offset(of: \.kind)!)
        esr = word(MemoryLayout<mm_trap_frame>.offset(of: \.esr)!)
    }

    public var kind: Kind { [.synchronous, .irq, .fiq, .serror][Int(vector & 3)] }

    /// The exception level that was interrupted, from SPSR.M[3:2].
    public var fromLevel: Int { Int((spsr >> 2) & 3) }

    /// The interrupted stack pointer: SP_EL0 for EL0 (and EL1t), else the
    /// kernel stack above this frame at `frameAddress`.
    public func interruptedSP(frameAddress: UInt64) -> UInt64 {
        spsr & 1 == 0 ? spEL0 : frameAddress &+ UInt64(Self.size)
    }

    /// True when ELR is the instruction after the one that trapped (an SVC or
    /// HVC/SMC call): a debugger looks the caller's line up at ELR-4, as for a
    /// return address. For faults ELR is the faulting instruction; for
    /// interrupts, the next one to run.
    public var resumesAfterTrappingInstruction: Bool {
        kind == .synchronous && [0x11, 0x15, 0x16, 0x17].contains(exceptionClass)
    }

    /// ESR_EL1.EC.
    public var exceptionClass: UInt64 { (esr >> 26) & 0x3F }

    /// What happened, as a user reads it: `SVC from EL0`, `data abort from EL0`, `irq`.
    public var summary: String {
        let level = "from EL\(fromLevel)"
        switch kind {
        case .irq: return "irq"
        case .fiq: return "fiq"
        case .serror: return "SError \(level)"
        case .synchronous:
            let what: String
            switch exceptionClass {
            case 0x15: what = "SVC"
            case 0x24, 0x25: what = "data abort"
            case 0x20, 0x21: what = "instruction abort"
            case 0x00: what = "undefined instruction"
            case 0x22: what = "PC alignment fault"
            case 0x26: what = "SP alignment fault"
            case 0x07: what = "FP/SIMD access"
            case 0x18: what = "system register access"
            case 0x3C: what = "BRK"
            default: what = "synchronous exception (EC 0x\(String(exceptionClass, radix: 16)))"
            }
            return "\(what) \(level)"
        }
    }

    /// The interrupted registers by DWARF number (x0…x30, 31 = sp, 32 = pc).
    public func registers(frameAddress: UInt64) -> [Int: UInt64] {
        var values: [Int: UInt64] = [:]
        for (number, value) in x.enumerated() { values[number] = value }
        values[31] = interruptedSP(frameAddress: frameAddress)
        values[32] = elr
        return values
    }
}
