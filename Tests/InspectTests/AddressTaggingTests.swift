import Testing
import Inspect
import TestSupport

/// TBI, bit 55, ASIDs in TTBRs, EPD, canonical checks, MMU off.
@Suite struct AddressTaggingTests {
    func space(tbi: Bool, asid: UInt64 = 0) -> SyntheticAddressSpace {
        var space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        space.tbi = tbi
        space.asid = asid
        space.lower.map(0x40_1000, to: 0x4100_0000, leafLevel: 3, attributes: Bits.userData)
        space.upper.map(0xFFFF_0000_4008_0000, to: 0x4008_0000, leafLevel: 3, attributes: Bits.kernelData)
        return space
    }

    @Test func withTBIATaggedAddressTranslatesAsItsUntaggedForm() throws {
        let walker = space(tbi: true).walker()
        let lower = try walker.translate(0x5A00_0000_0040_1234)
        #expect(lower.half == .lower)
        #expect(lower.untaggedAddress == 0x40_1234)
        #expect(lower.physicalAddress == 0x4100_0234)
        let upper = try walker.translate(0x12FF_0000_4008_0010)   // bit 55 set: TTBR1 even with a tag of 0x12
        #expect(upper.half == .upper)
        #expect(upper.untaggedAddress == 0xFFFF_0000_4008_0010)
        #expect(upper.physicalAddress == 0x4008_0010)
    }

    @Test func withoutTBIATaggedAddressIsOutsideTheAddressSpace() throws {
        let walker = space(tbi: false).walker()
        #expect(try walker.translate(0x5A00_0000_0040_1234).fault?.kind == .outsideAddressSpace)
        #expect(try walker.translate(0x0001_0000_0000_0000).fault?.kind == .outsideAddressSpace)
        #expect(try walker.translate(0xFFFE_FFFF_FFFF_F000).fault?.kind == .outsideAddressSpace)
        #expect(try walker.translate(0x40_1234).physicalAddress == 0x4100_0234)
    }

    @Test func theASIDInATTBRIsNotPartOfTheTableAddress() throws {
        let tagged = space(tbi: false, asid: 0xAB)
        #expect(tagged.context.asid == 0xAB)
        #expect(tagged.context.lower.tableAddress == tagged.lower.root)
        #expect(try tagged.walker().translate(0x40_1000).physicalAddress == 0x4100_0000)
        // The CnP bit (bit 0) is not part of it either.
        var registers = tagged.registers
        registers.ttbr1 |= 1
        #expect(TranslationContext(registers: registers).upper.tableAddress == tagged.upper.root)
    }

    @Test func anyTableCanBeWalkedWithTheShapeOfAHalf() throws {
        let space = space(tbi: false)
        // Swap the halves' tables: the lower half now walks the kernel's table and vice versa.
        let swapped = space.context.withTable(space.upper.root, for: .lower).withTable(space.lower.root, for: .upper)
        let walker = TranslationTableWalker(memory: space.memory, context: swapped)
        #expect(try walker.translate(0x0000_0000_4008_0000).physicalAddress == 0x4008_0000)
        #expect(try walker.translate(0xFFFF_0000_0040_1000).physicalAddress == 0x4100_0000)
        #expect(try walker.translate(0x40_1000).fault?.kind == .translation)
    }

    @Test func epdDisablesWalksOfThatHalf() throws {
        let space = space(tbi: false)
        var registers = space.registers
        registers.tcr |= 1 << 23   // EPD1
        let walker = TranslationTableWalker(memory: space.memory, context: TranslationContext(registers: registers))
        #expect(try walker.translate(0xFFFF_0000_4008_0000).fault?.kind == .walkDisabled)
        #expect(try walker.translate(0x40_1000).isMapped)
        #expect(try walker.dump().runs.map(\.half) == [.lower])
    }

    @Test func withTheMMUOffVirtualEqualsPhysical() throws {
        let space = space(tbi: false)
        var registers = space.registers
        registers.sctlr = 0
        let result = try TranslationTableWalker(memory: space.memory, context: TranslationContext(registers: registers))
            .translate(0x4008_0000)
        #expect(!result.mmuEnabled)
        #expect(result.physicalAddress == 0x4008_0000)
        #expect(result.steps.isEmpty)
        #expect(space.memory.roundTrips == 0)
    }
}
