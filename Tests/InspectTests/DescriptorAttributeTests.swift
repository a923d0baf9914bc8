import Testing
import Inspect
import TestSupport

/// AP/XN/AttrIndx decoding, hierarchical table attributes, malformed descriptors.
@Suite struct DescriptorAttributeTests {
    func translate(_ attributes: UInt64, tableBits: UInt64 = 0, sctlr: UInt64 = Bits.sctlrMMUOn) throws -> Translation {
        let space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        space.lower.map(0x40_0000, to: 0x4123_4000, leafLevel: 3, attributes: attributes, tableBits: tableBits)
        var registers = space.registers
        registers.sctlr = sctlr
        return try TranslationTableWalker(memory: space.memory, context: TranslationContext(registers: registers)).translate(0x40_0010)
    }

    @Test(arguments: [
        // AP[2:1]: kernel rights, user rights (no XN bits set: both may execute
        // unless EL0 can write).
        (UInt64(0), "rwx", "--x"),
        (Bits.apEL0, "rw-", "rwx"),
        (Bits.apReadOnly, "r-x", "--x"),
        (Bits.apReadOnly | Bits.apEL0, "r-x", "r-x"),
    ])
    func accessPermissionsFollowAP(ap: UInt64, kernel: String, user: String) throws {
        let result = try translate(Bits.af | ap)
        #expect(result.attributes?.kernel.description == kernel)
        #expect(result.attributes?.user.description == user)
    }

    @Test func executeNeverBitsAndMemoryTypeAndFlags() throws {
        let result = try translate(Bits.userText)
        let attributes = try #require(result.attributes)
        #expect(attributes.kernel.description == "r--")      // PXN
        #expect(attributes.user.description == "r-x")
        #expect(attributes.memoryType.description == "Normal WB-RWA")
        #expect(attributes.shareability == .innerShareable)
        #expect(attributes.accessFlag && !attributes.global && !attributes.contiguous)
        let device = try #require(try translate(Bits.af | Bits.attrDevice | 1 << 52 | 1 << 5).attributes)
        #expect(device.memoryType.description == "Device-nGnRnE")
        #expect(device.contiguous && device.nonSecure && device.global)
        #expect(result.steps.last?.descriptor.leafAttributes?.attrIndx == 0)
    }

    @Test func tableDescriptorsRestrictEverythingBelowThem() throws {
        let noEL0 = try #require(try translate(Bits.userData & ~Bits.uxn, tableBits: Bits.apTableNoEL0).attributes)
        #expect(noEL0.user.description == "--x")
        #expect(noEL0.kernel.write)
        let readOnly = try #require(try translate(Bits.userData, tableBits: Bits.apTableReadOnly).attributes)
        #expect(readOnly.user.description == "r--")
        #expect(readOnly.kernel.description == "r--")
        let uxn = try #require(try translate(Bits.af | Bits.apEL0 | Bits.apReadOnly, tableBits: Bits.uxnTable).attributes)
        #expect(!uxn.user.execute && uxn.kernel.execute)
        let pxn = try #require(try translate(Bits.af, tableBits: Bits.pxnTable).attributes)
        #expect(!pxn.kernel.execute && pxn.user.execute)
        // The table bits show up decoded in the walk steps.
        let steps = try translate(Bits.af, tableBits: Bits.pxnTable | Bits.apTableReadOnly).steps
        #expect(steps.dropLast().allSatisfy { $0.descriptor.tableAttributes?.pxnTable == true && $0.descriptor.tableAttributes?.readOnly == true })
    }

    @Test func userWritableIsNeverKernelExecutableAndWXNForbidsWritableExecution() throws {
        let userRW = try #require(try translate(Bits.af | Bits.apEL0).attributes)
        #expect(userRW.user.write && !userRW.kernel.execute)
        let wxn = try #require(try translate(Bits.af, sctlr: Bits.sctlrMMUOn | 1 << 19).attributes)
        #expect(!wxn.kernel.execute && !wxn.user.execute)
    }

    @Test func accessFlagClearIsReportedAsAFault() throws {
        let result = try translate(Bits.shInner)
        #expect(result.physicalAddress == 0x4123_4010)
        #expect(result.fault?.kind == .accessFlag)
        #expect(!result.isMapped)
    }

    @Test func outputAddressIgnoresAttributeAndSoftwareBits() throws {
        // UXN, PXN, software bits 58:55, DBM, and bits 50:48 must not leak into the PA.
        let result = try translate(Bits.af | Bits.uxn | Bits.pxn | 0xF << 55 | 1 << 51 | 7 << 48)
        #expect(result.physicalAddress == 0x4123_4010)
        #expect(result.steps.last?.descriptor.outputAddress == 0x4123_4000)
        #expect(result.steps.last?.descriptor.leafAttributes?.software == 0xF)
    }

    @Test(arguments: [
        (TranslationGranule.size4KiB, 48, 0),   // no level-0 blocks with 4K
        (.size16KiB, 48, 1),                     // no level-1 blocks with 16K
        (.size64KiB, 48, 1),                     // no level-1 blocks with 64K (needs 52-bit PA)
        (.size4KiB, 48, 3),                      // bit 1 clear at level 3 is reserved
    ])
    func malformedDescriptorsAreReportedNotTrusted(granule: TranslationGranule, inputBits: Int, level: Int) throws {
        let space = SyntheticAddressSpace(granule: granule, inputBits: inputBits)
        let va = UInt64(1) << UInt64(granule.shift(atLevel: level))
        space.lower.setDescriptor(va, level: level, raw: 0x4000_0000 | Bits.af | 1)   // valid, bit 1 clear
        let walker = space.walker()
        let result = try walker.translate(va)
        #expect(result.physicalAddress == nil)
        #expect(result.fault?.kind == .malformedDescriptor)
        #expect(result.fault?.level == level)
        #expect(result.steps.last?.descriptor.kind == .reserved)
        let dump = try walker.dump()
        #expect(dump.runs.isEmpty)
        #expect(dump.problems.count == 1)
        #expect(dump.problems.first?.virtualAddress == va)
        #expect(dump.problems.first?.level == level)
    }

    @Test func outputAddressBeyondIPSIsAnAddressSizeProblem() throws {
        var space = SyntheticAddressSpace(granule: .size4KiB, inputBits: 48)
        space.ips = 2   // 40 bits
        space.lower.map(0x40_0000, to: 1 << 44, leafLevel: 3, attributes: Bits.kernelData)
        let result = try space.walker().translate(0x40_0000)
        #expect(result.physicalAddress == nil)
        #expect(result.fault?.kind == .malformedDescriptor)
        #expect(result.fault?.detail.contains("40-bit") == true)
    }
}
