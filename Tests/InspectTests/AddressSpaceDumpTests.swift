import Testing
import Inspect
import TestSupport

/// A small kernel-like address space: user text and data pages, a guard gap,
/// kernel 2 MiB blocks and a device page.
struct SampleAddressSpace {
    let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)

    init() {
        for i in 0..<16 { space.lower.map(0x40_0000 + UInt64(i) * 0x1000, to: 0x4100_0000 + UInt64(i) * 0x1000, leafLevel: 3, attributes: Bits.userText) }
        for i in 0..<4 { space.lower.map(0x100_0000 + UInt64(i) * 0x1000, to: 0x4200_0000 + UInt64(i) * 0x1000, leafLevel: 3, attributes: Bits.userData) }
        // Not physically contiguous: two runs although adjacent in VA.
        space.lower.map(0x100_4000, to: 0x4300_0000, leafLevel: 3, attributes: Bits.userData)
        for i in 0..<3 { space.upper.map(0xFFFF_0000_4000_0000 + UInt64(i) << 21, to: 0x4000_0000 + UInt64(i) << 21, leafLevel: 2, attributes: Bits.kernelData) }
        space.upper.map(0xFFFF_0000_0900_0000, to: 0x0900_0000, leafLevel: 3, attributes: Bits.af | Bits.attrDevice | Bits.pxn | Bits.uxn)
    }
}

@Suite struct AddressSpaceDumpTests {
    @Test func mergesAdjacentLeavesWithEqualAttributesIntoRuns() throws {
        let sample = SampleAddressSpace()
        let dump = try sample.space.walker().dump()
        #expect(dump.runs.map(\.virtualStart) == [0x40_0000, 0x100_0000, 0x100_4000, 0xFFFF_0000_0900_0000, 0xFFFF_0000_4000_0000])
        #expect(dump.runs.map(\.leafCount) == [16, 4, 1, 1, 3])
        #expect(dump.runs.map(\.size) == [0x10000, 0x4000, 0x1000, 0x1000, 0x60_0000])
        #expect(dump.runs.map(\.physicalStart) == [0x4100_0000, 0x4200_0000, 0x4300_0000, 0x0900_0000, 0x4000_0000])
        #expect(dump.runs.map(\.half) == [.lower, .lower, .lower, .upper, .upper])
        #expect(dump.runs[0].attributes.user.description == "r-x")
        #expect(dump.runs[1].attributes.user.description == "rw-")
        #expect(dump.runs[3].attributes.memoryType.isDevice)
        #expect(dump.problems.isEmpty)
    }

    @Test func countsTablesLeavesAndTableMemory() throws {
        let sample = SampleAddressSpace()
        let stats = try sample.space.walker().dump().statistics
        #expect(stats.tablesPerLevel == [2, 2, 3, 3])
        #expect(stats.tablesPerLevel == zip(sample.space.lower.tablesPerLevel, sample.space.upper.tablesPerLevel).map { $0 + $1 })
        #expect(stats.pages == 22)
        #expect(stats.blocksPerLevel == [0, 0, 3, 0])
        #expect(stats.tableBytes == 10 * 4096)
        #expect(stats.mappedBytes == 22 * 4096 + 3 * 0x20_0000)
        #expect(stats.runs == 5)
    }

    @Test func requestsEveryTableOfALevelInOneBatch() throws {
        let sample = SampleAddressSpace()
        let dump = try sample.space.walker().dump()
        #expect(dump.statistics.roundTrips == 4)
        #expect(sample.space.memory.roundTrips == 4)
        #expect(sample.space.memory.batches.map(\.count) == dump.statistics.tablesPerLevel)
        #expect(sample.space.memory.batches.allSatisfy { $0.allSatisfy { $0.space == .physical && $0.length == 4096 } })
    }

    @Test func aWarmDumpCostsNoRoundTrips() throws {
        let sample = SampleAddressSpace()
        let walker = sample.space.walker(cached: true)
        let cold = try walker.dump()
        let warm = try walker.dump()
        #expect(warm == cold)
        #expect(sample.space.memory.roundTrips == 4)
        // vtop after a dump is answered from the same cached tables.
        #expect(try walker.translate(0x40_0123).physicalAddress == 0x4100_0123)
        #expect(sample.space.memory.roundTrips == 4)
    }

    @Test func filtersByPrivilegeWritabilityExecutabilityAndRange() throws {
        let dump = try SampleAddressSpace().space.walker().dump()
        #expect(dump.runs(matching: DumpFilter(privilege: .user)).count == 3)
        #expect(dump.runs(matching: DumpFilter(privilege: .kernel)).count == 2)
        #expect(dump.runs(matching: DumpFilter(writable: true)).map(\.virtualStart) == [0x100_0000, 0x100_4000, 0xFFFF_0000_0900_0000, 0xFFFF_0000_4000_0000])
        #expect(dump.runs(matching: DumpFilter(executable: true)).map(\.virtualStart) == [0x40_0000])
        #expect(dump.runs(matching: DumpFilter(privilege: .user, writable: false)).map(\.virtualStart) == [0x40_0000])
        let clipped = dump.runs(matching: DumpFilter(virtualFirst: 0x40_8000, virtualLast: 0x100_0FFF))
        #expect(clipped.map(\.virtualStart) == [0x40_8000, 0x100_0000])
        #expect(clipped.map(\.size) == [0x8000, 0x1000])
        #expect(clipped.map(\.physicalStart) == [0x4100_8000, 0x4200_0000])
        #expect(clipped.map(\.leafCount) == [8, 1])
    }

    @Test func diffReportsMappedUnmappedRemappedAndChangedRuns() throws {
        let sample = SampleAddressSpace()
        let walker = sample.space.walker()
        let before = try walker.dump()
        let lower = sample.space.lower
        lower.setDescriptor(0x100_2000, level: 3, raw: 0)                                          // unmap one data page
        lower.map(0x100_3000, to: 0x4400_0000, leafLevel: 3, attributes: Bits.userData)           // remap another
        lower.map(0x1000_0000, to: 0x4500_0000, leafLevel: 3, attributes: Bits.userData)          // heap grows
        lower.map(0x1000_1000, to: 0x4500_1000, leafLevel: 3, attributes: Bits.userData)
        for i in 0..<2 { lower.map(0x40_0000 + UInt64(i) * 0x1000, to: 0x4100_0000 + UInt64(i) * 0x1000, leafLevel: 3, attributes: Bits.userData) }
        let after = try walker.dump()
        let changes = after.changes(since: before)
        #expect(changes.map(\.kind) == [.attributesChanged, .unmapped, .remapped, .mapped])
        #expect(changes.map(\.virtualStart) == [0x40_0000, 0x100_2000, 0x100_3000, 0x1000_0000])
        #expect(changes.map(\.size) == [0x2000, 0x1000, 0x1000, 0x2000])
        #expect(changes[0].oldAttributes?.user.description == "r-x")
        #expect(changes[0].newAttributes?.user.description == "rw-")
        #expect(changes[2].oldPhysicalStart == 0x4200_3000)
        #expect(changes[2].newPhysicalStart == 0x4400_0000)
        #expect(changes[3].newPhysicalStart == 0x4500_0000)
        #expect(before.changes(since: before).isEmpty)
    }

    /// What `pt diff` shows: spaces that appeared or went, then each space's mapping changes.
    @Test func snapshotsDiffBySpaceThenByAddress() throws {
        let sample = SampleAddressSpace()
        let walker = sample.space.walker()
        let before = AddressSpaceSnapshot(spaces: ["cpu": try walker.dump(), "pid 2": try walker.dump()])
        sample.space.lower.map(0x1000_0000, to: 0x4500_0000, leafLevel: 3, attributes: Bits.userData)
        let after = AddressSpaceSnapshot(spaces: ["cpu": try walker.dump(), "pid 3": try walker.dump()])
        let changes = after.changes(since: before)
        #expect(changes.map(\.space) == ["cpu", "pid 2", "pid 3"])
        #expect(changes[1] == .disappeared(space: "pid 2"))
        #expect(changes[2] == .appeared(space: "pid 3"))
        guard case .mapping("cpu", let change) = changes[0] else {
            Issue.record("expected a mapping change of cpu, got \(changes[0])")
            return
        }
        #expect(change.kind == .mapped && change.virtualStart == 0x1000_0000 && change.newPhysicalStart == 0x4500_0000)
        #expect(after.changes(since: after).isEmpty)
    }

    @Test func dumpsOfEveryGranuleFindWhatWasMapped() throws {
        for granule in TranslationGranule.allCases {
            let space = SyntheticAddressSpace(granule: granule, inputBits: 39)
            let page = granule.pageSize
            for i in 0..<3 { space.lower.map(UInt64(i + 8) * page, to: 0x8000_0000 + UInt64(i) * page, leafLevel: 3, attributes: Bits.userData) }
            let dump = try space.walker().dump()
            #expect(dump.runs.count == 1)
            #expect(dump.runs.first?.size == 3 * page)
            #expect(dump.runs.first?.virtualStart == 8 * page)
            #expect(dump.statistics.tablesPerLevel.reduce(0, +) == space.lower.tableCount + space.upper.tableCount)
        }
    }
}

import Foundation

/// The REPL renders Inspect's values as JSON: every result round-trips.
@Suite struct CodableResultTests {
    @Test func dumpsTranslationsAndKernelViewsRoundTripThroughJSON() throws {
        let sample = SampleAddressSpace()
        let walker = sample.space.walker()
        let dump = try walker.dump()
        let translation = try walker.translate(0x40_0123)
        let kernel = sampleKernel()
        let view = try inspector(kernel)
        let snapshot = try view.snapshot()
        let report = try ConsistencyChecker(inspector: view).run()
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        #expect(try decoder.decode(AddressSpaceDump.self, from: encoder.encode(dump)) == dump)
        #expect(try decoder.decode(Translation.self, from: encoder.encode(translation)) == translation)
        #expect(try decoder.decode(KernelSnapshot.self, from: encoder.encode(snapshot)) == snapshot)
        #expect(try decoder.decode(ConsistencyChecker.Report.self, from: encoder.encode(report)) == report)
        let json = String(decoding: try encoder.encode(translation.steps[0].descriptor), as: UTF8.self)
        #expect(json.contains("\"kind\":\"table\""))
    }
}
