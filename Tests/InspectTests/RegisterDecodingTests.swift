import Testing
import Inspect

@Suite struct RegisterDecodingTests {
    /// The value boot.S writes: T0SZ=T1SZ=16, 4K granules, IPS=40 bits, TBI0, TBI1.
    @Test func decodesTheBootTCR() {
        let tcr = TranslationControlRegister(rawValue: 0x62B5103510)
        #expect(tcr.t0sz == 16)
        #expect(tcr.t1sz == 16)
        #expect(tcr.tg0 == .size4KiB)
        #expect(tcr.tg1 == .size4KiB)
        #expect(tcr.physicalAddressBits == 40)
        #expect(tcr.tbi0 && tcr.tbi1)
        #expect(!tcr.epd0 && !tcr.epd1 && !tcr.ha && !tcr.hd && !tcr.a1)
    }

    @Test func decodesGranuleEncodingsOfBothHalves() {
        // TG0: 00 4K, 01 64K, 10 16K. TG1: 01 16K, 10 4K, 11 64K.
        #expect(TranslationControlRegister(rawValue: 1 << 14).tg0 == .size64KiB)
        #expect(TranslationControlRegister(rawValue: 2 << 14).tg0 == .size16KiB)
        #expect(TranslationControlRegister(rawValue: 1 << 30).tg1 == .size16KiB)
        #expect(TranslationControlRegister(rawValue: 2 << 30).tg1 == .size4KiB)
        #expect(TranslationControlRegister(rawValue: 3 << 30).tg1 == .size64KiB)
    }

    @Test func decodesEPDHAHDAndIPS() {
        let tcr = TranslationControlRegister(rawValue: 1 << 7 | 1 << 23 | 1 << 39 | 1 << 40 | 5 << 32)
        #expect(tcr.epd0 && tcr.epd1 && tcr.ha && tcr.hd)
        #expect(tcr.physicalAddressBits == 48)
        #expect(TranslationControlRegister(rawValue: 0).physicalAddressBits == 32)
    }

    @Test func decodesTheKernelMAIR() {
        let mair = MemoryAttributeIndirectionRegister(rawValue: 0x4400FF)
        #expect(mair.attribute(0).description == "Normal WB-RWA")
        #expect(!mair.attribute(0).isDevice)
        #expect(mair.attribute(1).description == "Device-nGnRnE")
        #expect(mair.attribute(1).isDevice)
        #expect(mair.attribute(2).description == "Normal NC")
        #expect(MemoryType(encoding: 0x04).description == "Device-nGnRE")
        #expect(MemoryType(encoding: 0xBB).description == "Normal WT-RWA")
        #expect(MemoryType(encoding: 0xF4).description == "Normal inner NC outer WB-RWA")
    }

    @Test func decodesSCTLR() {
        #expect(SystemControlRegister(rawValue: 0x30D0_1805).mmuEnabled)
        #expect(!SystemControlRegister(rawValue: 0x30D0_1804).mmuEnabled)
        #expect(SystemControlRegister(rawValue: 1 << 19).writeImpliesExecuteNever)
    }

    /// The kernel's SCTLR_EL1 as booted (`[BOOT] MMU on: SCTLR_EL1=0xc5183d`), decoded by hand:
    /// 0xc5183d = bits 0 2 3 4 5 11 12 16 18 22 23.
    @Test func decodesEveryFieldOfTheBootedSCTLR() {
        let fields = SystemControlRegister(rawValue: 0xC5_183D).fields
        let set = Set(fields.filter(\.isSet).map(\.name))
        #expect(set == ["M", "C", "SA", "SA0", "CP15BEN", "EOS", "I", "nTWI", "nTWE", "EIS", "SPAN"])
        let clear = Set(fields.filter { !$0.isSet }.map(\.name))
        #expect(clear == ["A", "ITD", "SED", "UMA", "DZE", "UCT", "WXN", "IESB", "E0E", "EE", "UCI"])
        // Every decoded set bit is in the value, and the value has no set bit beyond the decoded ones.
        let decodedBits = fields.filter(\.isSet).reduce(UInt64(0)) { $0 | 1 << UInt64($1.bit) }
        #expect(decodedBits == 0xC5_183D)
        let sctlr = SystemControlRegister(rawValue: 0xC5_183D)
        #expect(sctlr.field("M")?.meaning == "MMU on")
        #expect(sctlr.field("nTWE")?.meaning == "EL0 WFE not trapped")
        #expect(sctlr.field("EE")?.meaning == "EL1 data and table walks little-endian")
        #expect(sctlr.field("UCI")?.meaning == "EL0 cache maintenance traps")
    }

    @Test func eachSCTLRFieldReadsItsOwnBit() {
        for field in SystemControlRegister(rawValue: 0).fields {
            let alone = SystemControlRegister(rawValue: 1 << UInt64(field.bit)).fields
            #expect(alone.filter(\.isSet).map(\.name) == [field.name])
        }
        #expect(SystemControlRegister(rawValue: 1 << 25).field("EE")?.meaning == "EL1 data and table walks big-endian")
    }

    @Test(arguments: [
        (TranslationGranule.size4KiB, 48, 0, 512), (.size4KiB, 39, 1, 512), (.size4KiB, 42, 0, 8), (.size4KiB, 25, 2, 16),
        (.size16KiB, 48, 0, 2), (.size16KiB, 47, 1, 2048), (.size16KiB, 36, 2, 2048), (.size16KiB, 25, 3, 2048),
        (.size64KiB, 48, 1, 64), (.size64KiB, 42, 2, 8192), (.size64KiB, 36, 2, 128), (.size64KiB, 25, 3, 512),
    ])
    func startLevelAndTableSizeFollowTheInputSize(granule: TranslationGranule, inputBits: Int, level: Int, entries: Int) {
        #expect(granule.startLevel(inputBits: inputBits) == level)
        #expect(granule.entries(atLevel: level, inputBits: inputBits) == entries)
    }

    @Test func clampsOutOfRangeTxSZ() {
        #expect(TranslationControlRegister.inputBits(txsz: 0) == 48)
        #expect(TranslationControlRegister.inputBits(txsz: 63) == 25)
    }
}
