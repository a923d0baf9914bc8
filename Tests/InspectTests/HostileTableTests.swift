import GdbRemote
import Foundation
import Testing
import Inspect
import TestSupport

/// Corrupted or hostile translation tables: the dump must stay bounded and
/// say what it refused, one problem line each.
@Suite struct HostileTableTests {
    /// VA 0 mapped by a 4 KiB page through L0 → L1 → L2 → L3; the tables' addresses.
    struct Chain {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        var l0: UInt64 { space.lower.root }
        var l1: UInt64 { table(at: space.lower.descriptorAddress(0, level: 0)) }
        var l2: UInt64 { table(at: space.lower.descriptorAddress(0, level: 1)) }
        var l3: UInt64 { table(at: space.lower.descriptorAddress(0, level: 2)) }

        init() { space.lower.map(0, to: 0x4400_0000, leafLevel: 3, attributes: Bits.userData) }

        func table(at slot: UInt64) -> UInt64 { space.memory.load64(at: slot) & 0x0000_FFFF_FFFF_F000 }
        func set(_ table: UInt64, _ index: Int, _ raw: UInt64) { space.memory.store64(raw, at: table + UInt64(index) * 8) }
    }

    /// Every L1 entry names the same L2 table, every L2 entry the same L3 table:
    /// naively 512 × 512 L3 tables and 2^27 leaves.
    static func everyEntryNamesOneTable() -> Chain {
        let chain = Chain()
        let (l1, l2, l3) = (chain.l1, chain.l2, chain.l3)
        for i in 0..<512 {
            chain.set(l1, i, l2 | 3)
            chain.set(l2, i, l3 | 3)
            chain.set(l3, i, (0x4400_0000 + UInt64(i) << 12) | Bits.userData | 3)
        }
        return chain
    }

    @Test func aTableNamedByEveryEntryIsWalkedOnceAndReported() throws {
        let chain = Self.everyEntryNamesOneTable()
        let dump = try chain.space.walker().dump(halves: [.lower])
        #expect(dump.statistics.tablesPerLevel == [1, 1, 1, 1])
        #expect(dump.statistics.pages == 512)
        #expect(dump.statistics.roundTrips == 4)
        #expect(!dump.statistics.limitReached)
        #expect(dump.problems.count == 2 * 511)
        #expect(dump.problems.allSatisfy { $0.detail.contains("repeated table") })
        let first = try #require(dump.problems.first)
        #expect(first.level == 1 && first.index == 1 && first.tableAddress == chain.l1 && first.virtualAddress == 1 << 30)
        #expect(first.description.contains("L2 table \(Hex.format(chain.l2)) is already walked"))
        #expect(dump.runs.map(\.size) == [512 * 4096])
    }

    @Test func aDescriptorPointingBackUpTheWalkIsALoop() throws {
        let chain = Chain()
        chain.set(chain.l1, 1, chain.l0 | 3)   // L1 → the L0 table
        chain.set(chain.l2, 7, chain.l1 | 3)   // L2 → the L1 table
        let dump = try chain.space.walker().dump(halves: [.lower])
        #expect(dump.statistics.tablesPerLevel == [1, 1, 1, 1])
        #expect(dump.problems.map(\.detail) == [
            "table \(Hex.format(chain.l0)) is already an L0 table of this walk (loop, not walked again)",
            "table \(Hex.format(chain.l1)) is already an L1 table of this walk (loop, not walked again)",
        ])
        #expect(dump.runs.count == 1 && dump.runs[0].physicalStart == 0x4400_0000)
    }

    @Test func aTableSharedByTwoAddressSpacesIsFineAndReadOnce() throws {
        let chain = Chain()
        let other = SyntheticTranslationTables(memory: chain.space.memory, granule: .size4KiB, inputBits: 48, arena: 0x4300_0000)
        other.setDescriptor(0, level: 1, raw: chain.l2 | 3)   // the other space's L1 names the same L2 table
        let first = TranslationTableWalker(memory: chain.space.memory, context: chain.space.context)
        let second = TranslationTableWalker(memory: chain.space.memory, context: chain.space.context.withLowerTable(other.root))
        chain.space.memory.resetCounters()
        let dumps = try TranslationTableWalker.dump([(first, [.lower]), (second, [.lower])])
        for dump in dumps {
            #expect(dump.problems.isEmpty)
            #expect(dump.statistics.tablesPerLevel == [1, 1, 1, 1])
            #expect(dump.runs.map(\.physicalStart) == [0x4400_0000])
        }
        let reads = chain.space.memory.batches.joined().filter { $0.address == chain.l2 }
        #expect(reads.count == 1)
    }

    /// 20 pages, each under its own L3 table.
    static func twentyL3Tables() -> SyntheticAddressSpace {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        for i in 0..<20 { space.lower.map(UInt64(i) << 21, to: 0x4400_0000 + UInt64(i) << 12, leafLevel: 3, attributes: Bits.userData) }
        return space
    }

    @Test func theTableCapStopsTheWalkWithOneProblemLine() throws {
        let space = Self.twentyL3Tables()
        let full = try space.walker().dump(halves: [.lower])
        #expect(full.statistics.tables == 23 && full.problems.isEmpty && !full.statistics.limitReached)
        let capped = try space.walker().dump(halves: [.lower], limits: DumpLimits(tables: 10))
        #expect(capped.statistics.tables == 10)
        #expect(capped.statistics.pages == 7)
        #expect(capped.statistics.limitReached)
        #expect(capped.problems.map(\.detail) == ["dump stopped following tables: more than 10 tables (DumpLimits.tables)"])
    }

    @Test func theLeafCapStopsRecordingWithOneProblemLine() throws {
        let capped = try Self.twentyL3Tables().walker().dump(halves: [.lower], limits: DumpLimits(leaves: 5))
        #expect(capped.statistics.pages == 5)
        #expect(capped.runs.reduce(0) { $0 + $1.leafCount } == 5)
        #expect(capped.statistics.limitReached)
        #expect(capped.problems.map(\.detail) == ["dump stopped recording leaves: more than 5 blocks and pages (DumpLimits.leaves)"])
    }

    @Test func problemLinesAreCappedAndTheRestCounted() throws {
        let dump = try Self.everyEntryNamesOneTable().space.walker().dump(halves: [.lower], limits: DumpLimits(problems: 10))
        #expect(dump.problems.count == 11)
        #expect(dump.problems.last?.detail == "1012 more problems not listed (DumpLimits.problems)")
        #expect(dump.statistics.problems == 1022)
    }

    /// A dump read back from a hostile JSON file (zero sizes, a change missing
    /// its physical side) filters, diffs and prints without trapping.
    @Test func aHostileDecodedDumpDoesNotTrap() throws {
        let dump = try SampleAddressSpace().space.walker().dump()
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(dump)) as? [String: Any])
        var runs = try #require(object["runs"] as? [[String: Any]])
        runs[0]["size"] = 0
        runs[0]["leafSize"] = 0
        object["runs"] = runs
        let hostile = try JSONDecoder().decode(AddressSpaceDump.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(hostile.runs(matching: DumpFilter()).count == dump.runs.count - 1)   // the empty run covers nothing
        #expect(!hostile.changes(since: dump).isEmpty)
        let change = try JSONDecoder().decode(AddressSpaceChange.self, from: Data(#"{"kind":"mapped","virtualStart":4096,"size":4096}"#.utf8))
        #expect(change.description == "mapped 0x1000+0x1000 -> ? ?")
    }
}
