import Inspect

/// The vectors themselves: what each address space holds and which VAs it asks about.
extension WalkerVectors {
    /// Every granule at the input sizes that start the walk at each legal level.
    static let shapes: [(TranslationGranule, Int)] = [
        (.size4KiB, 48), (.size4KiB, 39), (.size4KiB, 30), (.size4KiB, 25),
        (.size16KiB, 48), (.size16KiB, 47), (.size16KiB, 36), (.size16KiB, 25),
        (.size64KiB, 48), (.size64KiB, 42), (.size64KiB, 29), (.size64KiB, 25),
    ]

    /// Every vector, in file-name order.
    public static func all() -> [Input] {
        shapes.map { shape($0.0, inputBits: $0.1) } + [
            leafAttributes(), tableAttributes(hpd: false), tableAttributes(hpd: true), writeImpliesExecuteNever(),
            taggedAddressesAndTTBRBits(), disabledHalf(), malformed4KiB(), malformedLargeGranules(.size16KiB),
            malformedLargeGranules(.size64KiB), repeatedTablesAndLoops(),
        ]
    }

    /// The input of a built address space.
    static func input(_ name: String, _ summary: String, _ space: SyntheticAddressSpace, registers: TranslationRegisters? = nil,
                      unreadable: [ClosedRange<UInt64>] = [], queries: [UInt64]) -> Input {
        var words: [(address: UInt64, value: UInt64)] = []
        for chunk in space.memory.storedChunks {
            for offset in stride(from: 0, to: chunk.bytes.count, by: 8) {
                let value = chunk.bytes.littleEndianUInt64(at: offset)
                if value != 0 { words.append((chunk.address + UInt64(offset), value)) }
            }
        }
        return Input(name: name, summary: summary, registers: registers ?? space.registers, memory: words, unreadable: unreadable,
                     queries: queries)
    }

    /// Pages at the edges of both halves, a block at every level that allows one
    /// (in both halves), a run of pages across a last-level table boundary, and
    /// queries at the first and last byte of each, in holes and outside both halves.
    static func shape(_ granule: TranslationGranule, inputBits: Int) -> Input {
        let space = SyntheticAddressSpace(granule: granule, inputBits: inputBits)
        let page = granule.pageSize
        let halfSize = UInt64(1) << UInt64(inputBits)
        let base = space.upperBase
        var queries: [UInt64] = []
        let edges: [(va: UInt64, pa: UInt64, tables: SyntheticTranslationTables)] = [
            (0, 0x1_0000_0000, space.lower), (halfSize - page, 0x1_0000_0000 + 4 * page, space.lower),
            (base, 0x2_0000_0000, space.upper), (UInt64.max - page + 1, 0x2_0000_0000 + 8 * page, space.upper),
        ]
        for edge in edges {
            edge.tables.map(edge.va, to: edge.pa, leafLevel: 3, attributes: Bits.kernelData)
            queries += [edge.va, edge.va + (page - 1)]
        }
        let start = granule.startLevel(inputBits: inputBits)
        var blockLevels: [Int] = []
        for level in start..<3 where granule.allowsBlock(atLevel: level) {
            let size = UInt64(1) << UInt64(granule.shift(atLevel: level))
            guard 4 * size <= halfSize else { continue }
            blockLevels.append(level)
            space.lower.map(3 * size, to: 5 * size, leafLevel: level, attributes: Bits.userData)
            space.upper.map(base + 2 * size, to: 6 * size, leafLevel: level, attributes: Bits.kernelData)
            queries += [3 * size, 3 * size + size - 8, base + 2 * size + 0x10]
        }
        // Three pages across the boundary of two last-level tables: one run.
        let boundary = UInt64(granule.entriesPerTable) * page
        if 4 * boundary <= halfSize {
            for i in UInt64(0)..<3 {
                space.lower.map(boundary - page + i * page, to: 0x4800_0000 + i * page, leafLevel: 3, attributes: Bits.userData)
            }
            queries += [boundary - 1, boundary + 2 * page - 1, boundary + 2 * page]   // the last is a hole in a walked table
        }
        queries += [halfSize / 2 + page, base + halfSize / 2 + page,   // holes high up
                    halfSize, base - page]                              // just outside each half
        let blocks = blockLevels.isEmpty ? "no level allows a block that fits" : "blocks at level \(blockLevels.map(String.init).joined(separator: ", "))"
        return input("shape-\(granule.rawValue.lowercased())-\(inputBits)bit",
                     "\(granule.rawValue) granule, \(inputBits)-bit VA (start level \(start)): pages at both edges of both halves, \(blocks), "
                     + "a run across a last-level table boundary, holes, VAs outside both halves",
                     space, queries: queries)
    }

    /// Leaf attributes: AP, XN, MAIR types, shareability, nG, NS, DBM, the
    /// contiguous hint (decoded as an attribute: 16 pages with it form one run),
    /// software bits (not attributes: the run goes on), AF clear (an access-flag fault).
    static func leafAttributes() -> Input {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        var registers = space.registers
        // Attr0 Normal WB-RWA, 1 Device-nGnRnE, 2 Normal NC, 3 Device-nGnRE, 4 Normal WT-RA, 5 inner WB outer NC, 6 Device-GRE, 7 WB transient.
        registers.mair = 0x7C_0C_4F_AA_04_44_00_FF
        let leaves: [UInt64] = [
            Bits.af,                                       // AP 00: k:rwx (no EL0)
            Bits.af | Bits.apEL0,                          // AP 01
            Bits.af | Bits.apReadOnly,                     // AP 10
            Bits.af | Bits.apReadOnly | Bits.apEL0,        // AP 11
            Bits.userText, Bits.userData, Bits.kernelData,
            Bits.af | Bits.pxn, Bits.af | Bits.uxn,
            Bits.af | 1 << 8, Bits.af | 2 << 8, Bits.af | 3 << 8,   // SH: reserved, outer, inner
            Bits.af | 1 << 5,                              // NS
            Bits.af | 1 << 51,                             // DBM
            Bits.af | Bits.nG,
        ] + (1...7).map { Bits.af | UInt64($0) << 2 }      // every other AttrIndx
        var queries: [UInt64] = []
        for (i, bits) in leaves.enumerated() {
            let va = 0x10_0000 + UInt64(i) * 0x1000
            space.lower.map(va, to: 0x4400_0000 + UInt64(i) * 0x1000, leafLevel: 3, attributes: bits)
            queries.append(va + 0x123)
        }
        // 16 pages with the contiguous hint, then 4 whose software bits differ (still one run each side).
        for i in UInt64(0)..<16 {
            space.lower.map(0x20_0000 + i * 0x1000, to: 0x4500_0000 + i * 0x1000, leafLevel: 3, attributes: Bits.kernelData | 1 << 52)
        }
        for i in UInt64(0)..<4 {
            space.lower.map(0x21_0000 + i * 0x1000, to: 0x4501_0000 + i * 0x1000, leafLevel: 3, attributes: Bits.kernelData | i << 55)
        }
        // AF clear: the walk finds the page, the access faults (TCR.HA = 0).
        space.lower.map(0x30_0000, to: 0x4600_0000, leafLevel: 3, attributes: Bits.shInner)
        space.upper.map(0xFFFF_0000_4000_0000, to: 0x4000_0000, leafLevel: 2, attributes: Bits.shInner | Bits.attrDevice)
        queries += [0x20_0000, 0x20_F008, 0x21_3FFF, 0x30_0010, 0xFFFF_0000_4000_0010]
        return input("attributes-leaf", "4K/48: AP, PXN/UXN, every AttrIndx through an eight-type MAIR, shareability, NS, DBM, nG, "
                     + "the contiguous hint (an attribute: 16 pages, one run), software bits (not attributes), AF clear (access-flag fault)",
                     space, registers: registers, queries: queries)
    }

    /// APTable, UXNTable, PXNTable and NSTable restrict everything below; with
    /// TCR.HPD0/HPD1 only NSTable still applies. Adjacent pages under tables with
    /// different bits do not merge.
    static func tableAttributes(hpd: Bool) -> Input {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        let tableBits: [UInt64] = [Bits.apTableNoEL0, Bits.apTableReadOnly, Bits.uxnTable, Bits.pxnTable, 1 << 63,
                                   Bits.apTableReadOnly | Bits.uxnTable | Bits.pxnTable, 0]
        var queries: [UInt64] = []
        _ = space.lower.descriptorAddress(0, level: 1)   // L0[0] -> an L1 table without table bits
        for (i, bits) in tableBits.enumerated() {
            // Each under its own L1 entry (so its own L2 and L3 tables carry the bits); the last two are PA-contiguous neighbours.
            let va = UInt64(i) << 30 | 0x1F_F000
            space.lower.map(va, to: 0x4400_0000 + UInt64(i) * 0x1000, leafLevel: 3, attributes: Bits.af | Bits.apEL0, tableBits: bits)
            queries.append(va + 8)
        }
        // Two pages at a 2 MiB boundary, PA-contiguous and with equal leaf bits, under L3 tables whose L2 descriptors differ.
        space.lower.map(0x80_0000_0000 + 0x1F_F000, to: 0x4700_0000, leafLevel: 3, attributes: Bits.userData)
        space.lower.map(0x80_0000_0000 + 0x20_0000, to: 0x4700_1000, leafLevel: 3, attributes: Bits.userData, tableBits: 0)
        space.lower.setDescriptor(0x80_0000_0000 + 0x20_0000, level: 2,
                                  raw: space.memory.load64(at: space.lower.descriptorAddress(0x80_0000_0000 + 0x20_0000, level: 2)) | Bits.uxnTable)
        space.upper.map(0xFFFF_0000_4000_0000, to: 0x4000_0000, leafLevel: 2, attributes: Bits.kernelData & ~Bits.pxn,
                        tableBits: Bits.apTableNoEL0 | Bits.pxnTable)
        queries += [0x80_0000_0000 + 0x1F_F000, 0x80_0000_0000 + 0x20_0000, 0xFFFF_0000_4000_0000]
        var registers = space.registers
        if hpd { registers.tcr |= 3 << 41 }
        return input(hpd ? "attributes-table-hpd" : "attributes-table",
                     hpd ? "4K/48 with TCR.HPD0 and HPD1 set: APTable, UXNTable and PXNTable are ignored, NSTable still applies"
                         : "4K/48: APTable[0] and [1], UXNTable, PXNTable, NSTable inherited by every leaf below; "
                         + "pages with equal leaf bits under differing tables stay separate runs",
                     space, registers: registers, queries: queries)
    }

    /// SCTLR.WXN: a writable mapping executes nowhere.
    static func writeImpliesExecuteNever() -> Input {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        let leaves: [UInt64] = [Bits.af, Bits.af | Bits.apEL0, Bits.af | Bits.apReadOnly, Bits.af | Bits.apReadOnly | Bits.apEL0]
        for (i, bits) in leaves.enumerated() {
            space.lower.map(0x40_0000 + UInt64(i) * 0x1000, to: 0x4400_0000 + UInt64(i) * 0x2000, leafLevel: 3, attributes: bits)
        }
        var registers = space.registers
        registers.sctlr |= 1 << 19
        return input("attributes-wxn", "4K/48 with SCTLR.WXN: writable mappings are execute-never at EL0 and EL1, read-only ones keep execute",
                     space, registers: registers, queries: (0..<4).map { 0x40_0000 + UInt64($0) * 0x1000 + 4 })
    }

    /// TBI in both halves (tagged VAs translate), an ASID and CnP in the TTBRs,
    /// and a two-entry 16K starting table whose TTBR has address bits 5:4 set
    /// (below the 64-byte alignment a starting table always has).
    static func taggedAddressesAndTTBRBits() -> Input {
        var space = SyntheticAddressSpace(granule: .size16KiB, inputBits: 48)
        space.tbi = true
        space.asid = 0xAB
        space.lower.map(0x40_0000, to: 0x4100_0000, leafLevel: 3, attributes: Bits.userData)
        space.upper.map(0xFFFF_0000_4000_0000, to: 0x4000_0000, leafLevel: 2, attributes: Bits.kernelData)
        var registers = space.registers
        registers.ttbr0 |= 0x31   // CnP and RES0 bits 5:4
        registers.ttbr1 |= 1
        return input("tagged-tbi-asid", "16K/48 with TBI0/TBI1: tagged VAs in both halves; TTBRs carrying an ASID, CnP "
                     + "and bits below the 64-byte alignment of a two-entry starting table",
                     space, registers: registers,
                     queries: [0x40_0010, 0x5A00_0000_0040_0010, 0xFF00_0000_0040_3FFF, 0xFFFF_0000_4000_0010,
                               0x12FF_0000_4000_0010, 0x0001_0000_0000_0000, 0x5AFE_0000_0000_0000])
    }

    /// TCR.EPD1: walks of the upper half are disabled; the dump has the lower half only.
    static func disabledHalf() -> Input {
        let space = SyntheticAddressSpace(granule: .size64KiB, inputBits: 42)
        space.lower.map(0x1_0000, to: 0x4100_0000, leafLevel: 3, attributes: Bits.userData)
        space.upper.map(0xFFFF_FC00_0000_0000, to: 0x4000_0000, leafLevel: 2, attributes: Bits.kernelData)
        var registers = space.registers
        registers.tcr |= 1 << 23
        return input("disabled-upper-half", "64K/42 with TCR.EPD1: upper-half walks are disabled (its tables exist but are not walked)",
                     space, registers: registers, queries: [0x1_0010, 0xFFFF_FC00_0000_0010])
    }

    /// 4K with a 40-bit IPS: reserved encodings, output addresses beyond IPS
    /// (page, block and table pointer), a table pointer into memory that cannot
    /// be read and one into RAM that holds nothing.
    static func malformed4KiB() -> Input {
        var space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        space.ips = 2
        let lower = space.lower
        lower.map(0x1000, to: 0x4100_0000, leafLevel: 3, attributes: Bits.userData)                     // one good page
        lower.setDescriptor(0x2000, level: 3, raw: 0x4100_1000 | Bits.af | 1)                             // 0b01 at level 3
        lower.setDescriptor(UInt64(1) << 39, level: 0, raw: 0x4000_0000 | Bits.af | 1)                    // L0 block
        lower.setDescriptor(0x3000, level: 3, raw: UInt64(1) << 44 | Bits.kernelData | 3)                 // page beyond 40 bits
        lower.setDescriptor(0x4000_0000, level: 1, raw: UInt64(1) << 41 | Bits.kernelData | 1)            // 1 GiB block beyond
        lower.setDescriptor(0x8000_0000, level: 1, raw: UInt64(1) << 42 | 3)                              // table beyond
        lower.setDescriptor(0xC000_0000, level: 1, raw: 0x0800_0000 | 3)                                  // table in device memory
        lower.setDescriptor(0x1_0000_0000, level: 1, raw: 0x4F00_0000 | 3)                                // table of zeros
        lower.map(0x2_0000_0000, to: 0x4000_0000 | 0x1F_F000, leafLevel: 1, attributes: Bits.kernelData)  // RES0 bits below a block
        space.upper.map(0xFFFF_0000_4000_0000, to: 0x4000_0000, leafLevel: 2, attributes: Bits.kernelData)
        space.upper.setDescriptor(0xFFFF_0000_4020_0000, level: 2, raw: 0x4020_0000 | Bits.kernelData | 1 | UInt64(1) << 40)
        return input("malformed-4k", "4K/48, 40-bit IPS: a reserved level-3 encoding, a level-0 block, output addresses beyond IPS "
                     + "(page, block, table pointer, and bit 40 of a block), a table in memory that cannot be read, a table of zeros, "
                     + "RES0 bits below a block's address",
                     space, unreadable: [0x0800_0000...0x0800_FFFF],
                     queries: [0x1008, 0x2008, UInt64(1) << 39, 0x3008, 0x4000_0008, 0x8000_0008, 0xC000_0008, 0x1_0000_0008,
                               0x2_0000_1234, 0xFFFF_0000_4000_0008, 0xFFFF_0000_4020_0008])
    }

    /// 16K and 64K have no blocks above level 2 (without 52-bit addresses).
    static func malformedLargeGranules(_ granule: TranslationGranule) -> Input {
        let space = SyntheticAddressSpace(granule: granule, inputBits: 48)
        let start = granule.startLevel(inputBits: 48)
        var queries: [UInt64] = []
        for level in start..<2 {
            let va = UInt64(1) << UInt64(granule.shift(atLevel: level))
            space.lower.setDescriptor(va, level: level, raw: 0x4000_0000 | Bits.af | 1)
            queries.append(va + 8)
        }
        space.lower.setDescriptor(granule.pageSize, level: 3, raw: 0x4100_0000 | Bits.af | 1)
        space.lower.map(2 * granule.pageSize, to: 0x4100_0000, leafLevel: 3, attributes: Bits.userData)
        queries += [granule.pageSize + 8, 2 * granule.pageSize + 8]
        return input("malformed-\(granule.rawValue.lowercased())", "\(granule.rawValue)/48: block descriptors at levels \(start) to 1 "
                     + "(reserved with this granule) and a reserved level-3 encoding beside a good page",
                     space, queries: queries)
    }

    /// Several descriptors naming one table (walked once, the rest reported) and
    /// descriptors naming a table higher up the walk (a loop, reported).
    static func repeatedTablesAndLoops() -> Input {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        let lower = space.lower
        lower.map(0, to: 0x4400_0000, leafLevel: 3, attributes: Bits.userData)
        lower.map(0x1000, to: 0x4400_1000, leafLevel: 3, attributes: Bits.userData)
        func table(_ va: UInt64, _ level: Int) -> UInt64 {
            DescriptorFields.addressBits(space.memory.load64(at: lower.descriptorAddress(va, level: level)), lowestBit: 12)
        }
        let l1 = table(0, 0), l2 = table(0, 1), l3 = table(0, 2)
        space.memory.store64(l2 | 3, at: l1 + 8 * 1)   // L1[1] and L1[2] also name the L2 table
        space.memory.store64(l2 | 3, at: l1 + 8 * 2)
        space.memory.store64(l3 | 3, at: l2 + 8 * 5)   // L2[5] also names the L3 table
        space.memory.store64(lower.root | 3, at: l1 + 8 * 3)   // L1[3] names the L0 table: a loop
        space.memory.store64(l1 | 3, at: l2 + 8 * 7)          // L2[7] names the L1 table: a loop
        return input("hostile-repeated-and-loops", "4K/48: L1 entries 1 and 2 name the L2 table of entry 0, L2[5] names the L3 table "
                     + "of L2[0] (repeated tables: walked once, the rest reported), L1[3] names the L0 table and L2[7] the L1 table "
                     + "(loops, reported); vtop still follows them as the hardware would",
                     space, queries: [0x1008, UInt64(1) << 30 | 0x1008, UInt64(5) << 21 | 0x8, UInt64(3) << 30 | 0x8,
                                      UInt64(7) << 21 | 0x8])
    }
}
