import GdbRemote

/// Why a guarded virtual read was refused. Each prints as one line.
public enum GuardedReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The range touches a mapping whose MAIR type is Device-*: reading it
    /// would be an MMIO access with side effects (and can crash QEMU under -smp 2).
    case deviceMemory(virtualAddress: UInt64, physicalAddress: UInt64, memoryType: String)
    /// The range touches a VA the tables do not map (or map with a fault).
    case notMapped(virtualAddress: UInt64, reason: String)
    /// A negative length, a range past the top of the address space, or more than `GuardedMemoryReader.maximumLength`.
    case badRange(address: UInt64, length: Int, reason: String)
    /// The tables could not be walked (transport failure).
    case translation(TranslationError)
    /// The translated physical range could not be read.
    case memory(MemoryError)

    public var description: String {
        switch self {
        case .deviceMemory(let va, let pa, let type):
            return "refusing to read \(Hex.format(va)): it maps \(Hex.format(pa)) as \(type) memory (device registers; a read has side effects)"
        case .notMapped(let va, let reason): return "cannot read \(Hex.format(va)): not mapped (\(reason))"
        case .badRange(let address, let length, let reason): return "cannot read \(length) bytes at \(Hex.format(address)): \(reason)"
        case .translation(let error): return "cannot translate: \(error)"
        case .memory(let error): return error.description
        }
    }
}

extension GuardedReadError: MemoryFailureCarrying {}
