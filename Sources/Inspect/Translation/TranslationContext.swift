import GdbRemote

/// The architectural registers that define EL1&0 stage 1 translation, as
/// read from the target (or made up by a test).
public struct TranslationRegisters: Codable, Sendable, Hashable {
    public var sctlr: UInt64
    public var tcr: UInt64
    public var mair: UInt64
    public var ttbr0: UInt64
    public var ttbr1: UInt64

    /// Raw register values as read from the target.
    public init(sctlr: UInt64, tcr: UInt64, mair: UInt64, ttbr0: UInt64, ttbr1: UInt64) {
        self.sctlr = sctlr
        self.tcr = tcr
        self.mair = mair
        self.ttbr0 = ttbr0
        self.ttbr1 = ttbr1
    }
}

/// The two halves of the VA space.
public enum TranslationHalf: String, Codable, Sendable, Hashable, CaseIterable {
    /// VA bit 55 clear: TTBR0, user space.
    case lower = "TTBR0"
    /// VA bit 55 set: TTBR1, the kernel.
    case upper = "TTBR1"
}

/// Everything needed to walk one half.
public struct HalfConfiguration: Codable, Sendable, Hashable {
    public var half: TranslationHalf
    public var granule: TranslationGranule
    /// 64 - TxSZ.
    public var inputBits: Int
    public var startLevel: Int
    /// Physical address of the starting-level table (BADDR; ASID and CnP removed).
    public var tableAddress: UInt64
    /// Descriptors in the starting-level table.
    public var startEntries: Int
    /// EPDn: walks disabled.
    public var walksDisabled: Bool
    /// TBIn: top byte ignored.
    public var topByteIgnored: Bool
    /// HPDn: APTable/UXNTable/PXNTable ignored.
    public var hierarchicalPermissionsDisabled: Bool
    /// Lowest VA of the half.
    public var firstAddress: UInt64
    /// Highest VA of the half (inclusive).
    public var lastAddress: UInt64
}

/// Decoded translation state: what the walker needs from the registers.
public struct TranslationContext: Codable, Sendable, Hashable {
    public var registers: TranslationRegisters
    public var tcr: TranslationControlRegister
    public var sctlr: SystemControlRegister
    public var mair: MemoryAttributeIndirectionRegister
    /// Output-address bits: min(IPS, 48, the CPU's PARange when known).
    public var physicalAddressBits: Int
    public var lower: HalfConfiguration
    public var upper: HalfConfiguration
    /// The ASID of the current address space (TTBR0 or, with TCR.A1, TTBR1).
    public var asid: Int

    /// Decodes `registers`. `cpuPhysicalAddressBits` is the CPU's PARange when
    /// known (40 on Cortex-A53); IPS larger than it is capped to it.
    public init(registers: TranslationRegisters, cpuPhysicalAddressBits: Int = 48) {
        self.registers = registers
        tcr = TranslationControlRegister(rawValue: registers.tcr)
        sctlr = SystemControlRegister(rawValue: registers.sctlr)
        mair = MemoryAttributeIndirectionRegister(rawValue: registers.mair)
        physicalAddressBits = min(tcr.physicalAddressBits, 48, cpuPhysicalAddressBits)
        let asidMask: UInt64 = tcr.asid16 ? 0xFFFF : 0xFF
        asid = Int(((tcr.a1 ? registers.ttbr1 : registers.ttbr0) >> 48) & asidMask)
        lower = TranslationContext.half(.lower, tcr: tcr, ttbr: registers.ttbr0)
        upper = TranslationContext.half(.upper, tcr: tcr, ttbr: registers.ttbr1)
    }

    /// The same state with TTBR0 pointing at `table` (e.g. a task's `mm.pgd`),
    /// so an address space that is not live can be walked.
    public func withLowerTable(_ table: UInt64) -> TranslationContext {
        withTable(table, for: .lower)
    }

    /// The same state with `half` walked from any table address (TCR's shape
    /// for that half still applies).
    public func withTable(_ table: UInt64, for half: TranslationHalf) -> TranslationContext {
        var copy = registers
        if half == .lower { copy.ttbr0 = table } else { copy.ttbr1 = table }
        return TranslationContext(registers: copy, cpuPhysicalAddressBits: physicalAddressBits)
    }

    /// The configuration of `half`.
    public func configuration(_ half: TranslationHalf) -> HalfConfiguration {
        half == .lower ? lower : upper
    }

    /// Which half `va` belongs to and its untagged form, or why it belongs to none.
    /// Bit 55 chooses the half even when the top byte is ignored; the bits above
    /// the half's input size (up to 55 with TBI, 63 without) must all equal it.
    public func resolve(_ va: UInt64) -> Result<(half: HalfConfiguration, address: UInt64), TranslationFault> {
        let half = (va >> 55) & 1 == 1 ? upper : lower
        let topBit = half.topByteIgnored ? 55 : 63
        let upToTop = topBit == 63 ? UInt64.max : (UInt64(1) << UInt64(topBit + 1)) - 1
        let mustMatchBit55 = upToTop & ~((UInt64(1) << UInt64(half.inputBits)) - 1)
        let highBits = va & mustMatchBit55
        let expected = half.half == .upper ? mustMatchBit55 : 0
        guard highBits == expected else {
            return .failure(TranslationFault(kind: .outsideAddressSpace, level: nil,
                                             detail: "\(Hex.format(va)) is outside both halves (\(half.half.rawValue) covers \(half.inputBits) bits)"))
        }
        guard !half.walksDisabled else {
            return .failure(TranslationFault(kind: .walkDisabled, level: nil, detail: "walks through \(half.half.rawValue) are disabled (EPD)"))
        }
        // An untagged address: the ignored top byte becomes the sign extension of bit 55.
        let untagged = half.topByteIgnored
            ? (va & ((UInt64(1) << 56) - 1)) | (half.half == .upper ? 0xFF00_0000_0000_0000 : 0)
            : va
        return .success((half, untagged))
    }

    private static func half(_ half: TranslationHalf, tcr: TranslationControlRegister, ttbr: UInt64) -> HalfConfiguration {
        let isLower = half == .lower
        let granule = isLower ? tcr.tg0 : tcr.tg1
        let inputBits = TranslationControlRegister.inputBits(txsz: isLower ? tcr.t0sz : tcr.t1sz)
        let start = granule.startLevel(inputBits: inputBits)
        let entries = granule.entries(atLevel: start, inputBits: inputBits)
        // BADDR is TTBR[47:1]: bits 63:48 are the ASID (not part of the address),
        // bit 0 is CnP; bits below the table's own alignment are RES0.
        let tableBytes = UInt64(max(entries * 8, 64))
        let base = ttbr & 0x0000_FFFF_FFFF_FFFE & ~(tableBytes - 1)
        let size = UInt64(1) << UInt64(inputBits)
        return HalfConfiguration(
            half: half, granule: granule, inputBits: inputBits, startLevel: start, tableAddress: base,
            startEntries: entries, walksDisabled: isLower ? tcr.epd0 : tcr.epd1,
            topByteIgnored: isLower ? tcr.tbi0 : tcr.tbi1,
            hierarchicalPermissionsDisabled: isLower ? tcr.hpd0 : tcr.hpd1,
            firstAddress: isLower ? 0 : 0 &- size, lastAddress: isLower ? size - 1 : UInt64.max)
    }
}
