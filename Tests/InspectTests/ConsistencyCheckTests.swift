import Foundation
import GdbRemote
import Testing
import Inspect
import KernelABI
import TestSupport

@Suite struct ConsistencyCheckTests {
    func findings(_ kernel: SyntheticKernel) throws -> ConsistencyChecker.Report {
        kernel.publish()
        return try ConsistencyChecker(inspector: try inspector(kernel)).run()
    }

    @Test func aHealthyKernelIsClean() throws {
        let report = try findings(sampleKernel())
        #expect(report.findings.isEmpty, "\(report.findings.map(\.description))")
        #expect(report.tasksChecked == 2)
        #expect(report.userPagesChecked == 8)
        #expect(report.tablesChecked == 18)
        #expect(report.freeListComplete)
        #expect(report.freeListWalked == 512 - 27)
    }

    /// The kernel half as the W^X kernel maps it (text r-x, rodata r--, data rw-) is clean;
    /// the old `k:rwx` linear map and the old boot block EL0 could execute are each one finding.
    @Test func aWritableAndExecutableOrUserExecutableKernelMappingIsFound() throws {
        let kernel = sampleKernel()
        let image = MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA
        kernel.mapKernelPage(va: image, pa: MM_KERNEL_LOAD_PA, leaf: MM_TD_KERNEL_TEXT)
        kernel.mapKernelPage(va: image + 0x1000, pa: MM_KERNEL_LOAD_PA + 0x1000, leaf: MM_TD_KERNEL_RODATA)
        kernel.mapKernelPage(va: image + 0x2000, pa: MM_KERNEL_LOAD_PA + 0x2000, leaf: MM_TD_KERNEL_NORMAL)
        let clean = try findings(kernel)
        #expect(clean.findings.isEmpty, "\(clean.findings.map(\.description))")
        #expect(clean.kernelRunsChecked == 3)

        let rwx = MM_TD_KERNEL_NORMAL & ~MM_TD_PXN              // EL1 may write and execute
        let el0Executable = MM_TD_KERNEL_RODATA & ~MM_TD_UXN     // read-only, but EL0 may execute
        kernel.mapKernelPage(va: image + 0x10_0000, pa: MM_KERNEL_LOAD_PA + 0x10_0000, leaf: rwx)
        kernel.mapKernelPage(va: image + 0x20_0000, pa: MM_KERNEL_LOAD_PA + 0x20_0000, leaf: el0Executable)
        let report = try findings(kernel)
        #expect(report.findings.map(\.kind) == [.kernelWritableAndExecutable, .kernelUserExecutable])
        #expect(report.findings.map(\.virtualAddress) == [image + 0x10_0000, image + 0x20_0000])
        #expect(report.findings.allSatisfy { $0.pid == nil })
        #expect(report.findings[0].description.hasPrefix(
            "kernel va 0xffff000040300000: kernel mapping of 0x1000 bytes at 0x40300000 is writable and executable (k:rwx u:--- "))
        #expect(report.findings[1].description.hasPrefix(
            "kernel va 0xffff000040400000: kernel mapping of 0x1000 bytes at 0x40400000 is executable at EL0 (k:r-- u:--x "))
        // JSON carries the kind by name (README: check → findings[].kind).
        let json = String(decoding: try JSONEncoder().encode(report.findings[0]), as: UTF8.self)
        #expect(json.contains("\"kind\":\"kernelWritableAndExecutable\""))
    }

    @Test func aPTEPointingElsewhereIsFound() throws {
        let kernel = sampleKernel()
        let pte = kernel.pteAddress(slot: 2, va: MM_DATA_BASE)
        kernel.memory.store64(0x4500_0000 | UserFlags.data, at: pte)
        let report = try findings(kernel)
        #expect(report.findings.map(\.kind) == [.wrongPhysicalPage])
        let line = report.findings[0].description
        #expect(line.hasPrefix("pid 2 (child) va 0x1000000: PTE maps 0x45000000, user_pages[1] records 0x44"))
    }

    @Test func changedFlagsAMissingPTEAndAnUnrecordedPTEAreFound() throws {
        let kernel = sampleKernel()
        let textPTE = kernel.pteAddress(slot: 1, va: MM_TEXT_BASE)
        kernel.memory.store64(kernel.memory.load64(at: textPTE) & ~(1 << 7), at: textPTE)   // text became writable
        kernel.memory.store64(0, at: kernel.pteAddress(slot: 1, va: MM_HEAP_BASE))
        kernel.mapUserPage(slot: 2, va: MM_HEAP_BASE + 0x5000, flags: UserFlags.data, record: false)
        let report = try findings(kernel)
        let byKind = Dictionary(grouping: report.findings, by: \.kind)
        #expect(byKind[.wrongFlags]?.map(\.virtualAddress) == [MM_TEXT_BASE])
        #expect(byKind[.writableAndExecutable]?.map(\.virtualAddress) == [MM_TEXT_BASE])
        #expect(byKind[.missingPTE]?.map(\.virtualAddress) == [MM_HEAP_BASE])
        #expect(byKind[.unrecordedPTE]?.map(\.virtualAddress) == [MM_HEAP_BASE + 0x5000])
        #expect(byKind[.unrecordedPTE]?.first?.pid == 2)
        #expect(report.findings.count == 4)
        #expect(report.findings.allSatisfy { !$0.description.contains("\n") })
    }

    @Test func aFreedButStillMappedPageIsFound() throws {
        let kernel = sampleKernel()
        let page = kernel.tasks[2].mm.user_pages.2.pa   // heap page of the child
        kernel.freePage(page)
        let report = try findings(kernel)
        #expect(report.findings.map(\.kind) == [.mappedAndFree])
        #expect(report.findings[0].virtualAddress == MM_HEAP_BASE)
        #expect(report.findings[0].pid == 2)
    }

    @Test func aFreedPageBeyondTheWalkLimitIsStillCaughtByItsPoison() throws {
        let kernel = sampleKernel()
        let page = kernel.tasks[1].mm.user_pages.1.pa
        kernel.freePage(page)
        kernel.publish()
        let report = try ConsistencyChecker(inspector: try inspector(kernel), freeListLimit: 0).run()
        #expect(!report.freeListComplete)
        #expect(report.findings.map(\.kind) == [.poisonedMappedPage])
        #expect(report.findings[0].virtualAddress == MM_DATA_BASE)
    }

    @Test func aLostTableAndASharedPageAreFound() throws {
        let kernel = sampleKernel()
        let l3 = kernel.pteAddress(slot: 1, va: MM_STACK_TOP - MM_PAGE_SIZE) & ~0xFFF
        kernel.forgetKernelPage(slot: 1, l3)
        kernel.mapExisting(slot: 2, va: MM_HEAP_BASE + 0x3000, pa: kernel.tasks[1].mm.user_pages.2.pa, flags: UserFlags.data)
        let report = try findings(kernel)
        let kinds = report.findings.map(\.kind)
        #expect(kinds.contains(.unrecordedTable))
        #expect(kinds.contains(.sharedPhysicalPage))
        #expect(report.findings.count == 2, "\(report.findings.map(\.description))")
        #expect(report.findings.first { $0.kind == .unrecordedTable }?.description.contains("L3 table \(Hex.format(l3)) is not in kernel_pages") == true)
    }

    @Test func aFreeListShorterThanTheCounterIsReported() throws {
        let kernel = sampleKernel()
        kernel.publish()
        // Cut the free list after its first page.
        let pool = try inspector(kernel).pagePool()
        kernel.memory.store64(0, at: pool.freeListHead + 8)
        let report = try ConsistencyChecker(inspector: try inspector(kernel)).run()
        #expect(report.findings.map(\.kind) == [.poolCounters])
        #expect(report.findings[0].description == "kernel: free list holds 1 pages, mm_pool.free_pages says \(pool.freePages)")
    }

    /// Overwrites `mm_pool` as a corrupted kernel might leave it.
    func corruptPool(_ kernel: SyntheticKernel, base: UInt64, pages: UInt64, head: UInt64) {
        let pool = KernelSymbols.physical(kernel.symbols.pool)
        kernel.memory.store64(base, at: pool + UInt64(MemoryLayout<mm_page_pool>.offset(of: \.base_pa)!))
        kernel.memory.store64(pages, at: pool + UInt64(MemoryLayout<mm_page_pool>.offset(of: \.page_count)!))
        kernel.memory.store64(head, at: pool + UInt64(MemoryLayout<mm_page_pool>.offset(of: \.free_list)!))
    }

    @Test func aPoolAtTheTopOfTheAddressSpaceIsWalkedWithoutWrapping() throws {
        let kernel = sampleKernel()
        kernel.publish()
        // One page just below the top: the free-list lookahead would run past 2^64.
        corruptPool(kernel, base: 0xFFFF_FFFF_FFFF_E000, pages: 1, head: 0xFFFF_FFFF_FFFF_E000)
        let report = try ConsistencyChecker(inspector: try inspector(kernel)).run()
        #expect(report.freeListWalked == 1)
        #expect(report.freeListComplete)
        #expect(report.findings.map(\.kind) == [.poolCounters])
        #expect(report.findings[0].detail.hasPrefix("free list holds 1 pages"))
    }

    @Test func aPoolRunningPastTheTopIsReported() throws {
        let kernel = sampleKernel()
        kernel.publish()
        corruptPool(kernel, base: 0xFFFF_FFFF_FFFF_E000, pages: 1 << 60, head: 0xFFFF_FFFF_FFFF_E000)
        let report = try ConsistencyChecker(inspector: try inspector(kernel)).run()
        #expect(!report.freeListComplete)
        #expect(report.findings.map(\.description) == [
            "kernel: mm_pool base 0xffffffffffffe000 + 1152921504606846976 pages runs past the top of the address space",
        ])
    }

    @Test func anUnreadableFreeListPageIsAFindingNotAFailure() throws {
        let kernel = sampleKernel()
        kernel.publish()
        let head = try inspector(kernel).pagePool().freeListHead
        kernel.memory.unreadable = [head...head + 0xFFF]
        let report = try ConsistencyChecker(inspector: try inspector(kernel)).run()
        #expect(!report.freeListComplete)
        #expect(report.findings.map(\.description) == [
            "kernel: free-list page \(Hex.format(head)) cannot be read: the walk stopped after 0 pages",
        ])
    }
}

/// The SMP findings (issue 19) on synthetic kernels: mm_cpus[] from memory, TTBR0s as the stub would read them per vCPU.
@Suite struct SMPConsistencyCheckTests {
    func report(_ kernel: SyntheticKernel, _ registers: [CPURegisters] = []) throws -> ConsistencyChecker.Report {
        kernel.publish()
        return try ConsistencyChecker(inspector: try inspector(kernel), cpuRegisters: registers).run()
    }

    func ttbr0(_ kernel: SyntheticKernel, slot: Int, asid: UInt64? = nil) -> UInt64 {
        kernel.tasks[slot].mm.pgd | (asid ?? UInt64(slot)) << 48
    }

    @Test func twoCPUsRunningDifferentTasksAreClean() throws {
        let kernel = sampleKernel()
        kernel.cpuCurrentSlots = [1, 2]
        let clean = try report(kernel, [CPURegisters(cpu: 0, ttbr0: ttbr0(kernel, slot: 1)),
                                        CPURegisters(cpu: 1, ttbr0: ttbr0(kernel, slot: 2))])
        #expect(clean.findings.isEmpty, "\(clean.findings.map(\.description))")
        let snapshot = try inspector(kernel).snapshot()
        #expect(snapshot.cpus.map(\.currentSlot) == [1, 2])
        #expect(snapshot.cpus.map(\.state) == [.busy, .busy])
    }

    @Test func aTaskCurrentOnTwoCPUsIsFound() throws {
        let kernel = sampleKernel()
        kernel.cpuCurrentSlots = [1, nil, 1]
        let found = try report(kernel)
        #expect(found.findings.map(\.kind) == [.taskOnTwoCPUs])
        #expect(found.findings[0].description == "pid 1 (init): slot 1 is current on cpu 0 and cpu 2")
    }

    @Test func aTTBR0OnAFreedPageIsFound() throws {
        let kernel = sampleKernel()
        kernel.cpuCurrentSlots = [1, 2]
        let stalePGD = kernel.allocatePage()
        kernel.freePage(stalePGD)   // what a CPU still holding a reaped task's tables sees
        let found = try report(kernel, [CPURegisters(cpu: 0, ttbr0: ttbr0(kernel, slot: 1)),
                                        CPURegisters(cpu: 1, ttbr0: stalePGD | 2 << 48)])
        #expect(found.findings.map(\.kind) == [.ttbr0OnFreedPage])
        #expect(found.findings[0].physicalAddress == stalePGD)
        #expect(found.findings[0].description.hasPrefix("pid 2 (child) pa \(Hex.format(stalePGD)): cpu 1 TTBR0"))
    }

    @Test func oneASIDForTwoAddressSpacesIsFound() throws {
        let kernel = sampleKernel()
        kernel.cpuCurrentSlots = [1, 2]
        let found = try report(kernel, [CPURegisters(cpu: 0, ttbr0: ttbr0(kernel, slot: 1, asid: 7)),
                                        CPURegisters(cpu: 1, ttbr0: ttbr0(kernel, slot: 2, asid: 7))])
        #expect(found.findings.map(\.kind) == [.asidShared])
        #expect(found.findings[0].detail.hasPrefix("ASID 7 names table"))
    }
}
