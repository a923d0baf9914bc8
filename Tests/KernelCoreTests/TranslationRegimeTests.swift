import Testing
import KernelSupport
@testable import KernelCore

extension KernelGlobals {
    @Suite("Kernel TTBR1 tables") struct KernelTranslationTablesTests {
        init() { FakeMachine.reset() }

        // Host memory stands in for RAM: map a 2 MiB-aligned window of fake
        // PAs (never dereferenced) at a linear-map-like VA.
        static let va: UInt64 = 0xFFFF_0000_4000_0000, pa: UInt64 = 0x4000_0000

        @Test func blocksMapAlignedRangesWithLevel2Blocks() throws {
            var tables = try #require(KernelTranslationTables())
            expectTrue(tables.map(va: Self.va, pa: Self.pa, size: 16 << 20, leaf: MM_TD_KERNEL_NORMAL, granule: .blocks))
            #expect(tables.tableCount == 3, "pgd, pud, one pmd")
            let hit = try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.va + 0xA3_4567))
            #expect(hit.pa == Self.pa + 0xA3_4567)
            #expect(hit.level == 2)
            let pmd = tableAt(tableAt(tableAt(tables.pgd)[0] & Paging.descriptorAddressMask)[1] & Paging.descriptorAddressMask)
            #expect(pmd[0] == Self.pa | MM_TD_KERNEL_NORMAL & ~0b10, "block: type 01, same attributes")
            #expect(KernelTranslationTables.translate(pgd: tables.pgd, Self.va + (16 << 20)) == nil)
        }

        @Test func pagesMapEveryPageAtLevel3() throws {
            var tables = try #require(KernelTranslationTables())
            expectTrue(tables.map(va: Self.va, pa: Self.pa, size: 16 << 20, leaf: MM_TD_KERNEL_NORMAL, granule: .pages))
            #expect(tables.tableCount == 3 + 8, "one pte table per 2 MiB")
            #expect(mm_pool.free_pages == 256 - 11)
            for offset: UInt64 in [0, 0x1000, 0x1F_FFFF, 0xFF_F008] {
                let hit = try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.va + offset))
                #expect(hit.pa == Self.pa + offset)
                #expect(hit.level == 3)
            }
        }

        @Test func blocksFallBackToPagesAtUnalignedEdges() throws {
            var tables = try #require(KernelTranslationTables())
            // 4 KiB before a 2 MiB boundary, one full block, 8 KiB after.
            expectTrue(tables.map(va: Self.va + 0x1F_F000, pa: Self.pa + 0x1F_F000, size: 0x1000 + (2 << 20) + 0x2000,
                               leaf: MM_TD_KERNEL_NORMAL, granule: .blocks))
            #expect(try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.va + 0x1F_F010)).level == 3)
            #expect(try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.va + 0x20_0010)).level == 2)
            #expect(try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.va + 0x40_1010)).level == 3)
            #expect(KernelTranslationTables.translate(pgd: tables.pgd, Self.va + 0x40_2000) == nil)
        }

        @Test func deviceWindowAndRamShareTheTopLevels() throws {
            var tables = try #require(KernelTranslationTables())
            expectTrue(tables.map(va: paToKvaOnTarget(MM_DEVICE_WINDOW_PA), pa: MM_DEVICE_WINDOW_PA, size: MM_DEVICE_WINDOW_SIZE,
                               leaf: MM_TD_KERNEL_DEVICE, granule: .blocks))
            expectTrue(tables.map(va: Self.va, pa: Self.pa, size: 128 << 20, leaf: MM_TD_KERNEL_NORMAL, granule: .blocks))
            #expect(tables.tableCount == 4, "pgd, pud, a pmd for each GiB")
            let uart = try #require(KernelTranslationTables.translate(pgd: tables.pgd, paToKvaOnTarget(0x0900_0018)))
            #expect(uart.pa == 0x0900_0018)
        }

        @Test func runsOutOfMemoryCleanly() throws {
            FakeMachine.drain(leaving: 5)
            var tables = try #require(KernelTranslationTables())
            expectTrue(!tables.map(va: Self.va, pa: Self.pa, size: 16 << 20, leaf: MM_TD_KERNEL_NORMAL, granule: .pages))
            #expect(mm_pool.fail_count == 1)
            FakeMachine.drain(leaving: 0)
            #expect(KernelTranslationTables() == nil)
        }

        @Test func refusesToSplitAnExistingBlock() throws {
            var tables = try #require(KernelTranslationTables())
            expectTrue(tables.map(va: Self.va, pa: Self.pa, size: 2 << 20, leaf: MM_TD_KERNEL_NORMAL, granule: .blocks))
            expectTrue(!tables.map(va: Self.va + 0x1000, pa: 0x1000, size: 0x1000, leaf: MM_TD_KERNEL_NORMAL, granule: .pages))
        }

        // W^X: the kernel image at 2 MiB into RAM, 0x30000 of text, 0x20000 of rodata.
        static let image = KernelImageSections(textStart: pa + 0x20_0000, textEnd: pa + 0x23_0000, rodataEnd: pa + 0x25_0000)

        @Test func theLinearMapPlanSplitsTheImageBySection() {
            var regions: [KernelMapRegion] = []
            expectTrue(KernelTranslationTables.forEachLinearMapRegion(ramBase: Self.pa, ramSize: 16 << 20, image: Self.image) {
                regions.append($0)
            })
            #expect(regions == [
                KernelMapRegion(pa: Self.pa, size: 0x20_0000, leaf: MM_TD_KERNEL_NORMAL),
                KernelMapRegion(pa: Self.pa + 0x20_0000, size: 0x3_0000, leaf: MM_TD_KERNEL_TEXT),
                KernelMapRegion(pa: Self.pa + 0x23_0000, size: 0x2_0000, leaf: MM_TD_KERNEL_RODATA),
                KernelMapRegion(pa: Self.pa + 0x25_0000, size: (16 << 20) - 0x25_0000, leaf: MM_TD_KERNEL_NORMAL),
            ])
            // Unaligned or out-of-order boundaries are refused, not mapped approximately.
            var called = false
            var bad = Self.image
            bad.textEnd += 8
            expectTrue(!KernelTranslationTables.forEachLinearMapRegion(ramBase: Self.pa, ramSize: 16 << 20, image: bad) { _ in called = true })
            bad = Self.image
            bad.rodataEnd = bad.textStart
            expectTrue(!KernelTranslationTables.forEachLinearMapRegion(ramBase: Self.pa, ramSize: 16 << 20, image: bad) { _ in called = true })
            expectTrue(!KernelTranslationTables.forEachLinearMapRegion(ramBase: Self.pa, ramSize: 0x20_0000, image: Self.image) { _ in called = true })
            #expect(!called)
        }

        /// Every 4 KiB of the mapped RAM, in both granules: never W+X at EL1,
        /// never EL0-accessible or EL0-executable; text r-x, rodata r--, the rest rw-.
        @Test(arguments: [LinearMapGranule.blocks, .pages])
        func noLinearMapLeafIsWritableAndExecutable(granule: LinearMapGranule) throws {
            var tables = try #require(KernelTranslationTables())
            expectTrue(tables.mapLinearMap(ramBase: Self.pa, ramSize: 16 << 20, image: Self.image, granule: granule))
            var page = Self.pa
            while page < Self.pa + (16 << 20) {
                let leaf = try #require(KernelTranslationTables.translate(pgd: tables.pgd, page))
                #expect(leaf.pa == page)
                let d = leaf.descriptor
                let writable = d & MM_TD_AP_RO == 0, executable = d & MM_TD_PXN == 0
                #expect(!(writable && executable), "W+X at \(String(page, radix: 16))")
                #expect(d & MM_TD_UXN != 0 && d & MM_TD_AP_EL0 == 0, "EL0 reaches \(String(page, radix: 16))")
                let isText = page >= Self.image.textStart && page < Self.image.textEnd
                let isRodata = page >= Self.image.textEnd && page < Self.image.rodataEnd
                #expect(executable == isText && writable == !(isText || isRodata), "\(String(page, radix: 16)): \(String(d, radix: 16))")
                page += MM_PAGE_SIZE
            }
            // Blocks where the plan allows: below the image and from the next 2 MiB boundary past it.
            if granule == .blocks {
                #expect(try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.pa)).level == 2)
                #expect(try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.image.textStart)).level == 3)
                #expect(try #require(KernelTranslationTables.translate(pgd: tables.pgd, Self.pa + 0x40_0000)).level == 2)
            }
        }

        /// #expect cannot wrap a mutating call; this takes its result instead.
        private func expectTrue(_ condition: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(condition, sourceLocation: sourceLocation)
        }

        /// The kernel's linear-map VA of `pa` (the host's paToKva is the identity).
        private func paToKvaOnTarget(_ pa: UInt64) -> UInt64 { pa + MM_LINEAR_MAP_BASE }
    }
}

@Suite("Translation regime constants") struct TranslationRegimeConstantTests {
    private func field(_ value: UInt64, _ low: Int, _ width: Int) -> UInt64 { value >> UInt64(low) & (1 << UInt64(width) - 1) }

    @Test func tcrDescribesTwo48BitHalvesWith4KiBGranules() {
        let tcr = MM_TCR_VALUE
        #expect(field(tcr, 0, 6) == 16, "T0SZ: 48-bit user VA")
        #expect(field(tcr, 16, 6) == 16, "T1SZ: 48-bit kernel VA")
        #expect(field(tcr, 14, 2) == 0b00, "TG0 = 4 KiB")
        #expect(field(tcr, 30, 2) == 0b10, "TG1 = 4 KiB")
        #expect(field(tcr, 8, 2) == 1 && field(tcr, 10, 2) == 1 && field(tcr, 12, 2) == 3, "TTBR0 walks WB-WA inner shareable")
        #expect(field(tcr, 24, 2) == 1 && field(tcr, 26, 2) == 1 && field(tcr, 28, 2) == 3, "TTBR1 walks WB-WA inner shareable")
        #expect(field(tcr, 7, 1) == 0 && field(tcr, 23, 1) == 0, "both halves walk (EPD0/EPD1 clear)")
        #expect(field(tcr, 22, 1) == 0, "A1: ASID from TTBR0")
        #expect(field(tcr, 32, 3) == 0b010, "IPS: 40-bit PA (cortex-a53 on virt)")
        #expect(field(tcr, 37, 2) == 0b11, "TBI0/TBI1 (the Swift driver passes -aarch64-use-tbi)")
    }

    @Test func mairIndicesMatchTheDescriptorAttributeIndices() {
        let mair = MM_MAIR_VALUE
        #expect(field(mair, Int(8 * (MM_TD_ATTR_NORMAL >> 2)), 8) == 0xFF, "AttrIndx 0: normal WB RW-allocate")
        #expect(field(mair, Int(8 * (MM_TD_ATTR_DEVICE >> 2)), 8) == 0x00, "AttrIndx 1: device nGnRnE")
        #expect(field(MM_TD_KERNEL_NORMAL, 2, 3) == 0 && field(MM_TD_KERNEL_DEVICE, 2, 3) == 1)
    }

    @Test func kernelLeavesAreNeverUserAccessibleOrExecutable() {
        for leaf in [MM_TD_KERNEL_TEXT, MM_TD_KERNEL_RODATA, MM_TD_KERNEL_NORMAL, MM_TD_KERNEL_DEVICE] {
            #expect(leaf & MM_TD_AP_EL0 == 0)
            #expect(leaf & MM_TD_UXN != 0)
            #expect(leaf & MM_TD_AF != 0)
            #expect(leaf & 0b11 == 0b11)
            #expect(leaf & MM_TD_AP_RO != 0 || leaf & MM_TD_PXN != 0, "W^X: writable leaves are never executable")
        }
        #expect(MM_TD_KERNEL_TEXT & MM_TD_PXN == 0 && MM_TD_KERNEL_TEXT & MM_TD_AP_RO != 0, "text: r-x")
        #expect(MM_TD_KERNEL_RODATA & MM_TD_PXN != 0 && MM_TD_KERNEL_RODATA & MM_TD_AP_RO != 0, "rodata: r--")
        #expect(MM_TD_KERNEL_NORMAL & MM_TD_PXN != 0 && MM_TD_KERNEL_NORMAL & MM_TD_AP_RO == 0, "data, bss, the rest: rw-")
        #expect(MM_TD_KERNEL_DEVICE & MM_TD_PXN != 0)
    }
}
