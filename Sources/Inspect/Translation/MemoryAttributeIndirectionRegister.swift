import GdbRemote

/// MAIR_EL1: eight memory attributes that a descriptor's AttrIndx selects.
public struct MemoryAttributeIndirectionRegister: Codable, Sendable, Hashable {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Attr<index> decoded.
    public func attribute(_ index: Int) -> MemoryType {
        MemoryType(encoding: UInt8(truncatingIfNeeded: rawValue >> UInt64(8 * (index & 7))))
    }
}

/// One MAIR attribute field decoded (Arm ARM names).
public struct MemoryType: Codable, Sendable, Hashable, CustomStringConvertible {
    /// The 8-bit Attr<n> encoding.
    public var encoding: UInt8
    /// Device or Normal memory.
    public var isDevice: Bool
    /// e.g. `Device-nGnRnE`, `Normal WB-RWA`, `Normal NC`, `Normal inner WT-RA outer WB-RWA`.
    public var description: String

    public init(encoding: UInt8) {
        self.encoding = encoding
        let outer = encoding >> 4, inner = encoding & 0xF
        if outer == 0 {
            isDevice = true
            switch inner {
            case 0b0000: description = "Device-nGnRnE"
            case 0b0100: description = "Device-nGnRE"
            case 0b1000: description = "Device-nGRE"
            case 0b1100: description = "Device-GRE"
            default: description = "UNPREDICTABLE(\(Hex.format(UInt64(encoding))))"
            }
        } else {
            isDevice = false
            let o = MemoryType.cacheability(outer), i = MemoryType.cacheability(inner)
            description = o == i ? "Normal \(o)" : "Normal inner \(i) outer \(o)"
        }
    }

    /// One Normal-memory cacheability nibble (inner nibble 0 is UNPREDICTABLE).
    private static func cacheability(_ nibble: UInt8) -> String {
        let allocation = (nibble & 2 != 0 ? "R" : "") + (nibble & 1 != 0 ? "W" : "")
        let suffix = allocation.isEmpty ? "" : "-\(allocation)A"
        switch nibble >> 2 {
        case 0b00: return nibble == 0 ? "UNPREDICTABLE" : "WT-transient\(suffix)"
        case 0b01: return nibble == 0b0100 ? "NC" : "WB-transient\(suffix)"
        case 0b10: return "WT\(suffix)"
        default: return "WB\(suffix)"
        }
    }
}
