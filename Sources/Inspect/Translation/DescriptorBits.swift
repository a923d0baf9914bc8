/// Single-bit fields of a VMSAv8-64 stage 1 descriptor, named as in the Arm ARM.
/// Multi-bit fields (AttrIndx, AP, SH, APTable, the output address) are read
/// by `DescriptorFields`.
public struct DescriptorBits: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bit 0: the descriptor is valid.
    public static let valid = DescriptorBits(rawValue: 1 << 0)
    /// Bit 1: table (levels above the last) or page (last level); clear = block.
    public static let tableOrPage = DescriptorBits(rawValue: 1 << 1)
    /// Bit 5: NS (non-secure output address).
    public static let ns = DescriptorBits(rawValue: 1 << 5)
    /// Bit 6: AP[1], EL0 access.
    public static let apEL0 = DescriptorBits(rawValue: 1 << 6)
    /// Bit 7: AP[2], read-only.
    public static let apReadOnly = DescriptorBits(rawValue: 1 << 7)
    /// Bit 10: AF, the access flag.
    public static let af = DescriptorBits(rawValue: 1 << 10)
    /// Bit 11: nG, not global (tagged with the ASID in the TLB).
    public static let nG = DescriptorBits(rawValue: 1 << 11)
    /// Bit 51: DBM, dirty bit modifier.
    public static let dbm = DescriptorBits(rawValue: 1 << 51)
    /// Bit 52: the contiguous hint.
    public static let contiguous = DescriptorBits(rawValue: 1 << 52)
    /// Bit 53: PXN, privileged execute never.
    public static let pxn = DescriptorBits(rawValue: 1 << 53)
    /// Bit 54: UXN (XN), unprivileged execute never.
    public static let uxn = DescriptorBits(rawValue: 1 << 54)
    /// Bit 59 of a table descriptor: PXNTable.
    public static let pxnTable = DescriptorBits(rawValue: 1 << 59)
    /// Bit 60 of a table descriptor: UXNTable (XNTable).
    public static let uxnTable = DescriptorBits(rawValue: 1 << 60)
    /// Bit 61 of a table descriptor: APTable[0], no EL0 access below.
    public static let apTableNoEL0 = DescriptorBits(rawValue: 1 << 61)
    /// Bit 62 of a table descriptor: APTable[1], no write access below.
    public static let apTableReadOnly = DescriptorBits(rawValue: 1 << 62)
    /// Bit 63 of a table descriptor: NSTable.
    public static let nsTable = DescriptorBits(rawValue: 1 << 63)
}

/// Multi-bit descriptor fields.
public enum DescriptorFields {
    /// AttrIndx[2:0], bits 4:2: the MAIR attribute index.
    public static func attrIndx(_ raw: UInt64) -> Int { Int((raw >> 2) & 7) }
    /// AP[2:1], bits 7:6.
    public static func ap(_ raw: UInt64) -> Int { Int((raw >> 6) & 3) }
    /// SH[1:0], bits 9:8.
    public static func sh(_ raw: UInt64) -> Int { Int((raw >> 8) & 3) }
    /// APTable[1:0], bits 62:61.
    public static func apTable(_ raw: UInt64) -> Int { Int((raw >> 61) & 3) }
    /// Software-reserved bits 58:55.
    public static func software(_ raw: UInt64) -> Int { Int((raw >> 55) & 0xF) }
    /// Output-address bits [47:shift] (52-bit output addresses are not decoded).
    public static func addressBits(_ raw: UInt64, lowestBit shift: Int) -> UInt64 {
        raw & ((UInt64(1) << 48) - 1) & ~((UInt64(1) << UInt64(shift)) - 1)
    }
}

/// SH: shareability of a block or page.
public enum Shareability: String, Codable, Sendable, Hashable {
    case nonShareable = "NSH"
    case reserved = "RES"
    case outerShareable = "OSH"
    case innerShareable = "ISH"

    init(sh: Int) {
        switch sh {
        case 0: self = .nonShareable
        case 2: self = .outerShareable
        case 3: self = .innerShareable
        default: self = .reserved
        }
    }
}
