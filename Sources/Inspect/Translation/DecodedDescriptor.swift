import GdbRemote

/// What a descriptor is, after looking at its level and type bits.
public enum DescriptorKind: String, Codable, Sendable, Hashable {
    /// Bit 0 clear: a translation fault if walked.
    case invalid
    /// Points to the next-level table.
    case table
    /// A leaf above the last level.
    case block
    /// A leaf at the last level.
    case page
    /// Valid but reserved or malformed: reported, never trusted.
    case reserved
}

/// The hierarchical attributes of a table descriptor.
public struct TableAttributes: Codable, Sendable, Hashable {
    /// APTable[0]: no EL0 access to anything below.
    public var noEL0Access: Bool
    /// APTable[1]: no writes to anything below.
    public var readOnly: Bool
    /// UXNTable: nothing below executes at EL0.
    public var uxnTable: Bool
    /// PXNTable: nothing below executes at EL1.
    public var pxnTable: Bool
    /// NSTable.
    public var nsTable: Bool

    /// No restriction.
    public static let none = TableAttributes(noEL0Access: false, readOnly: false, uxnTable: false, pxnTable: false, nsTable: false)

    init(raw: UInt64) {
        let bits = DescriptorBits(rawValue: raw)
        noEL0Access = bits.contains(.apTableNoEL0)
        readOnly = bits.contains(.apTableReadOnly)
        uxnTable = bits.contains(.uxnTable)
        pxnTable = bits.contains(.pxnTable)
        nsTable = bits.contains(.nsTable)
    }

    init(noEL0Access: Bool, readOnly: Bool, uxnTable: Bool, pxnTable: Bool, nsTable: Bool) {
        self.noEL0Access = noEL0Access
        self.readOnly = readOnly
        self.uxnTable = uxnTable
        self.pxnTable = pxnTable
        self.nsTable = nsTable
    }

    /// The restrictions of `self` (higher level) combined with `lower`'s.
    func accumulating(_ lower: TableAttributes) -> TableAttributes {
        TableAttributes(noEL0Access: noEL0Access || lower.noEL0Access, readOnly: readOnly || lower.readOnly,
                        uxnTable: uxnTable || lower.uxnTable, pxnTable: pxnTable || lower.pxnTable,
                        nsTable: nsTable || lower.nsTable)
    }
}

/// The raw attribute fields of a block or page descriptor (before the
/// hierarchical table attributes are applied).
public struct LeafAttributes: Codable, Sendable, Hashable {
    public var attrIndx: Int
    public var ns: Bool
    /// AP[2:1] as a number 0...3.
    public var ap: Int
    public var shareability: Shareability
    public var af: Bool
    public var nG: Bool
    public var dbm: Bool
    public var contiguous: Bool
    public var pxn: Bool
    public var uxn: Bool
    /// Software-reserved bits 58:55.
    public var software: Int

    public init(raw: UInt64) {
        let bits = DescriptorBits(rawValue: raw)
        attrIndx = DescriptorFields.attrIndx(raw)
        ns = bits.contains(.ns)
        ap = DescriptorFields.ap(raw)
        shareability = Shareability(sh: DescriptorFields.sh(raw))
        af = bits.contains(.af)
        nG = bits.contains(.nG)
        dbm = bits.contains(.dbm)
        contiguous = bits.contains(.contiguous)
        pxn = bits.contains(.pxn)
        uxn = bits.contains(.uxn)
        software = DescriptorFields.software(raw)
    }
}

/// One descriptor decoded in the context of its level and granule.
public struct DecodedDescriptor: Codable, Sendable, Hashable {
    public var level: Int
    public var raw: UInt64
    public var kind: DescriptorKind
    /// Next-level table address (tables).
    public var nextTableAddress: UInt64?
    /// Output address of the block or page (masked to the architecture's bits).
    public var outputAddress: UInt64?
    /// Bytes mapped by the block or page.
    public var mappedSize: UInt64?
    public var tableAttributes: TableAttributes?
    public var leafAttributes: LeafAttributes?
    /// Why the descriptor is reserved or would raise an address-size fault.
    public var problem: String?

    /// Decodes `raw` found at `level` of a walk with `granule` and
    /// `physicalAddressBits` of output address.
    public init(raw: UInt64, level: Int, granule: TranslationGranule, physicalAddressBits: Int) {
        self.level = level
        self.raw = raw
        let bits = DescriptorBits(rawValue: raw)
        guard bits.contains(.valid) else {
            kind = .invalid
            return
        }
        let isLastLevel = level == 3
        let address: UInt64
        if bits.contains(.tableOrPage) {
            address = DescriptorFields.addressBits(raw, lowestBit: granule.pageShift)
            if isLastLevel {
                kind = .page
                outputAddress = address
                mappedSize = granule.pageSize
                leafAttributes = LeafAttributes(raw: raw)
            } else {
                kind = .table
                nextTableAddress = address
                tableAttributes = TableAttributes(raw: raw)
            }
        } else if granule.allowsBlock(atLevel: level) {
            let shift = granule.shift(atLevel: level)
            address = DescriptorFields.addressBits(raw, lowestBit: shift)
            kind = .block
            outputAddress = address
            mappedSize = UInt64(1) << UInt64(shift)
            leafAttributes = LeafAttributes(raw: raw)
        } else {
            kind = .reserved
            problem = isLastLevel ? "reserved descriptor at level 3 (valid, bit 1 clear)"
                                  : "block descriptor not allowed at level \(level) with a \(granule.rawValue) granule"
            return
        }
        if physicalAddressBits < 48, address >> UInt64(physicalAddressBits) != 0 {
            // The architecture raises an Address size fault here; do not trust the address.
            problem = "output address \(Hex.format(address)) exceeds the \(physicalAddressBits)-bit physical address size"
            kind = .reserved
        }
    }
}
