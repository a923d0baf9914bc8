import Testing
import Inspect
import TestSupport

/// Every granule at every legal starting level: pages at the edges of both
/// halves, blocks at every level that allows them, round trips per level.
@Suite struct GranuleWalkTests {
    static let shapes: [(TranslationGranule, Int)] = [
        (.size4KiB, 48), (.size4KiB, 39), (.size4KiB, 30), (.size4KiB, 25),
        (.size16KiB, 48), (.size16KiB, 47), (.size16KiB, 36), (.size16KiB, 25),
        (.size64KiB, 48), (.size64KiB, 42), (.size64KiB, 29), (.size64KiB, 25),
    ]

    @Test(arguments: shapes)
    func pagesAtTheEdgesOfBothHalvesTranslate(granule: TranslationGranule, inputBits: Int) throws {
        let space = SyntheticAddressSpace(granule: granule, inputBits: inputBits)
        let page = granule.pageSize
        let halfSize = UInt64(1) << UInt64(inputBits)
        let edges: [(va: UInt64, pa: UInt64)] = [
            (0, 0x1_0000_0000),
            (halfSize - page, 0x1_0000_0000 + 4 * page),
            (space.upperBase, 0x2_0000_0000),
            (UInt64.max - page + 1, 0x2_0000_0000 + 8 * page),
        ]
        for (i, edge) in edges.enumerated() {
            let tables = i < 2 ? space.lower : space.upper
            tables.map(edge.va, to: edge.pa, leafLevel: 3, attributes: Bits.kernelData)
        }
        let walker = space.walker()
        let levels = 4 - granule.startLevel(inputBits: inputBits)
        for edge in edges {
            for offset in [UInt64(0), page - 1] {
                space.memory.resetCounters()
                let result = try walker.translate(edge.va + offset)
                #expect(result.fault == nil)
                #expect(result.physicalAddress == edge.pa + offset)
                #expect(result.leafLevel == 3)
                #expect(result.leafSize == page)
                #expect(result.steps.map(\.level) == Array(granule.startLevel(inputBits: inputBits)...3))
                // Cold: exactly one round trip per level.
                #expect(space.memory.roundTrips == levels)
            }
        }
        // A VA in the middle of the lower half that nothing maps faults.
        let unmapped = try walker.translate(halfSize / 2)
        #expect(unmapped.physicalAddress == nil)
        #expect(unmapped.fault?.kind == .translation)
    }

    @Test(arguments: shapes)
    func blocksTranslateAtEveryLevelThatAllowsThem(granule: TranslationGranule, inputBits: Int) throws {
        let space = SyntheticAddressSpace(granule: granule, inputBits: inputBits)
        let start = granule.startLevel(inputBits: inputBits)
        var checked = 0
        for level in start..<3 where granule.allowsBlock(atLevel: level) {
            let blockSize = UInt64(1) << UInt64(granule.shift(atLevel: level))
            guard 4 * blockSize <= UInt64(1) << UInt64(inputBits) else { continue }
            let va = 3 * blockSize, pa = 5 * blockSize
            space.lower.map(va, to: pa, leafLevel: level, attributes: Bits.kernelData)
            let probe = va + blockSize - 8
            let result = try space.walker().translate(probe)
            #expect(result.fault == nil)
            #expect(result.physicalAddress == pa + blockSize - 8)
            #expect(result.leafLevel == level)
            #expect(result.steps.last?.descriptor.kind == .block)
            #expect(result.leafSize == blockSize)
            // Clear it again so the next level's block can use the same index.
            space.lower.setDescriptor(va, level: level, raw: 0)
            checked += 1
        }
        let expectedBlockLevels = (start..<3).filter { level in
            granule.allowsBlock(atLevel: level) && 4 << granule.shift(atLevel: level) <= 1 << inputBits
        }
        #expect(checked == expectedBlockLevels.count)
    }

    @Test func theFourKiBGranuleHasGigabyteAndTwoMegabyteBlocks() {
        #expect(TranslationGranule.size4KiB.allowsBlock(atLevel: 1))
        #expect(TranslationGranule.size4KiB.allowsBlock(atLevel: 2))
        #expect(!TranslationGranule.size4KiB.allowsBlock(atLevel: 0))
        #expect(!TranslationGranule.size16KiB.allowsBlock(atLevel: 1))
        #expect(!TranslationGranule.size64KiB.allowsBlock(atLevel: 1))
    }

    @Test func manyAddressesTranslateInOneBatchPerLevel() throws {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        let vas = (0..<64).map { UInt64($0) << 30 | 0x1000 }   // 64 different L1 entries → 64 L2/L3 tables
        for (i, va) in vas.enumerated() {
            space.lower.map(va, to: 0x1_0000_0000 + UInt64(i) * 0x1000, leafLevel: 3, attributes: Bits.userData)
        }
        let results = try space.walker().translate(vas)
        #expect(results.map(\.physicalAddress) == vas.indices.map { 0x1_0000_0000 + UInt64($0) * 0x1000 })
        #expect(space.memory.roundTrips == 4)
        #expect(space.memory.batches.map(\.count) == [1, 1, 64, 64])
    }

    @Test func aCachedWalkCostsNoRoundTripUntilInvalidated() throws {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        space.lower.map(0x40_0000, to: 0x4100_0000, leafLevel: 3, attributes: Bits.userText)
        let cache = CachingMemorySource(space.memory)
        let walker = TranslationTableWalker(memory: cache, context: space.context)
        _ = try walker.translate(0x40_0000)
        #expect(space.memory.roundTrips == 4)
        _ = try walker.translate(0x40_0008)
        #expect(space.memory.roundTrips == 4)
        // The target wrote its tables (e.g. after resume): invalidate and see the change.
        space.lower.map(0x40_0000, to: 0x4200_0000, leafLevel: 3, attributes: Bits.userText)
        #expect(try walker.translate(0x40_0000).physicalAddress == 0x4100_0000)
        cache.invalidate()
        #expect(try walker.translate(0x40_0000).physicalAddress == 0x4200_0000)
        #expect(space.memory.roundTrips == 8)
    }

    @Test func anUnreadableTableIsReportedAndABrokenLinkThrows() throws {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        space.lower.map(0x1000, to: 0x4100_0000, leafLevel: 3, attributes: Bits.userData)
        space.upper.map(0xFFFF_0000_4000_0000, to: 0x4000_0000, leafLevel: 2, attributes: Bits.kernelData)
        // A level-1 table pointer into memory the source refuses (device memory on QEMU).
        space.lower.setDescriptor(UInt64(1) << 39, level: 0, raw: 0x0800_0000 | 3)
        space.memory.unreadable = [0x0800_0000...0x0800_FFFF]
        let walker = space.walker()
        let fault = try walker.translate(UInt64(1) << 39).fault
        #expect(fault?.kind == .unreadableTable)
        #expect(fault?.level == 1)
        let dump = try walker.dump()
        #expect(dump.runs.map(\.virtualStart) == [0x1000, 0xFFFF_0000_4000_0000])
        #expect(dump.problems.map(\.tableAddress) == [0x0800_0000])
        space.memory.transportFailure = "connection closed"
        #expect(throws: TranslationError.memory(.transport("connection closed"))) { try space.walker().translate(0x1000) }
    }
}
