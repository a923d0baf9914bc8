import GdbRemote
/// What a firing fault does to the stopped target.
public enum FaultAction: Equatable, Sendable, Codable {
    /// x0 = value, pc = x30: the function returns at once with `value`.
    case forceReturn(UInt64)
    /// Writes registers (by name, e.g. `x1`, `sp`).
    case setRegisters([RegisterWrite])
    /// Writes `size` bytes (1, 2, 4 or 8) of `value`, little-endian, at a virtual address.
    case writeMemory(address: UInt64, value: UInt64, size: Int)
    /// Damages the leaf descriptor mapping `virtualAddress` in task `pid`.
    case corruptPTE(pid: Int64, virtualAddress: UInt64, PTECorruption)
    /// Sets task `pid`'s `mm.brk`.
    case setBrk(pid: Int64, value: UInt64)
    /// pc += 4: the instruction at the stop does not execute.
    case skipInstruction

    /// One register assignment of `setRegisters`.
    public struct RegisterWrite: Equatable, Sendable, Codable {
        public var name: String
        public var value: UInt64
        public init(name: String, value: UInt64) {
            self.name = name
            self.value = value
        }
    }

    /// `return 0x0`, `pte pid 2 0x10000000 clear-valid`.
    public var description: String {
        switch self {
        case .forceReturn(let value): return "return \(Hex.format(value))"
        case .setRegisters(let writes): return "set " + writes.map { "\($0.name)=\(Hex.format($0.value))" }.joined(separator: ",")
        case .writeMemory(let address, let value, let size): return "write \(Hex.format(address))=\(Hex.format(value)) (\(size))"
        case .corruptPTE(let pid, let va, let how): return "pte pid \(pid) \(Hex.format(va)) \(how.description)"
        case .setBrk(let pid, let value): return "brk pid \(pid) = \(Hex.format(value))"
        case .skipInstruction: return "skip"
        }
    }
}

/// Ways to damage a page descriptor (VMSAv8-64 stage 1 leaf bits).
public enum PTECorruption: Equatable, Sendable, Codable {
    /// Clears bit 0: the next access takes a translation fault.
    case clearValid
    /// Toggles AP[2] (bit 7): read-only ↔ read-write.
    case flipAP
    /// Toggles UXN (bit 54): EL0 execute permission.
    case flipUXN
    /// Points the output address at another physical page (attributes kept).
    case redirect(physicalAddress: UInt64)

    static let validBit: UInt64 = 1 << 0
    static let apReadOnlyBit: UInt64 = 1 << 7
    static let uxnBit: UInt64 = 1 << 54
    static let outputAddressMask: UInt64 = 0x0000_FFFF_FFFF_F000

    /// The descriptor after the damage.
    public func apply(to descriptor: UInt64) -> UInt64 {
        switch self {
        case .clearValid: return descriptor & ~PTECorruption.validBit
        case .flipAP: return descriptor ^ PTECorruption.apReadOnlyBit
        case .flipUXN: return descriptor ^ PTECorruption.uxnBit
        case .redirect(let pa):
            return (descriptor & ~PTECorruption.outputAddressMask) | (pa & PTECorruption.outputAddressMask)
        }
    }

    public var description: String {
        switch self {
        case .clearValid: return "clear-valid"
        case .flipAP: return "flip-ap"
        case .flipUXN: return "flip-uxn"
        case .redirect(let pa): return "redirect=\(Hex.format(pa))"
        }
    }
}
