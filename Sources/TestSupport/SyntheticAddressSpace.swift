import Inspect

/// Descriptor bits and register values shared by the synthetic-table tests and the walker vectors.
public enum Bits {
    public static let attrNormal: UInt64 = 0 << 2          // AttrIndx 0
    public static let attrDevice: UInt64 = 1 << 2          // AttrIndx 1
    public static let apEL0: UInt64 = 1 << 6
    public static let apReadOnly: UInt64 = 1 << 7
    public static let shInner: UInt64 = 3 << 8
    public static let af: UInt64 = 1 << 10
    public static let nG: UInt64 = 1 << 11
    public static let pxn: UInt64 = 1 << 53
    public static let uxn: UInt64 = 1 << 54
    public static let pxnTable: UInt64 = 1 << 59
    public static let uxnTable: UInt64 = 1 << 60
    public static let apTableNoEL0: UInt64 = 1 << 61
    public static let apTableReadOnly: UInt64 = 1 << 62

    public static let kernelData = af | shInner | attrNormal | pxn | uxn
    public static let userData = af | shInner | attrNormal | apEL0 | nG | pxn | uxn
    public static let userText = af | shInner | attrNormal | apEL0 | apReadOnly | nG | pxn

    /// Attr0 Normal WB-RWA, Attr1 Device-nGnRnE, Attr2 Normal NC (the kernel's).
    public static let mair: UInt64 = 0x4400FF
    public static let sctlrMMUOn: UInt64 = 0x30D0_1805
}

/// A two-half synthetic address space with one granule and input size for both halves.
public struct SyntheticAddressSpace {
    public let memory = SyntheticMemory()
    public let lower: SyntheticTranslationTables
    public let upper: SyntheticTranslationTables
    public let granule: TranslationGranule
    public let inputBits: Int
    public var tbi = false
    public var ips: UInt64 = 5   // 48 bits
    public var asid: UInt64 = 0

    /// Tables of each half are allocated from their own arena (both inside a 128 MiB guest's RAM by default).
    public init(granule: TranslationGranule, inputBits: Int, lowerArena: UInt64 = 0x4100_0000, upperArena: UInt64 = 0x4200_0000) {
        self.granule = granule
        self.inputBits = inputBits
        lower = SyntheticTranslationTables(memory: memory, granule: granule, inputBits: inputBits, arena: lowerArena)
        upper = SyntheticTranslationTables(memory: memory, granule: granule, inputBits: inputBits, arena: upperArena)
    }

    /// TCR_EL1 for both halves.
    public var tcr: UInt64 {
        let txsz = UInt64(64 - inputBits)
        let tg0: UInt64 = granule == .size4KiB ? 0 : granule == .size64KiB ? 1 : 2
        let tg1: UInt64 = granule == .size4KiB ? 2 : granule == .size64KiB ? 3 : 1
        var value = txsz | tg0 << 14 | txsz << 16 | tg1 << 30 | ips << 32
        if tbi { value |= 3 << 37 }
        return value
    }

    public var registers: TranslationRegisters {
        TranslationRegisters(sctlr: Bits.sctlrMMUOn, tcr: tcr, mair: Bits.mair,
                             ttbr0: lower.root | asid << 48, ttbr1: upper.root | asid << 48)
    }

    public var context: TranslationContext { TranslationContext(registers: registers) }

    /// Lowest VA of the upper half.
    public var upperBase: UInt64 { 0 &- (UInt64(1) << UInt64(inputBits)) }

    public func walker(cached: Bool = false) -> TranslationTableWalker {
        TranslationTableWalker(memory: cached ? CachingMemorySource(memory) : memory, context: context)
    }
}
