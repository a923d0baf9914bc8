import Testing
import KernelSupport
@testable import KernelCore

// Issue 19's review gaps in the MM code, on the host. The barriers, TLB and
// I-cache operations are inert here, so `maintenanceRecorder` (the test
// double of MaintenanceOp) records them, and each recording snapshots the
// state around it: the order of descriptor writes, barriers and frees is
// what real hardware (unlike QEMU's TCG) depends on.

extension KernelGlobals {
    @Suite("MM ordering: barriers, TLB and I-cache maintenance") struct HardwareOrderingTests {
        init() { FakeMachine.reset() }

        /// One recorded operation and what the world looked like when it was issued.
        struct Recorded {
            var op: MaintenanceOp
            var snapshot: UInt64
        }

        /// Runs `body` with the recorder on; `snapshot` is evaluated at each operation.
        func recording(snapshot: @escaping () -> UInt64, _ body: () -> Void) -> [Recorded] {
            nonisolated(unsafe) var log: [Recorded] = []
            maintenanceRecorder = { log.append(Recorded(op: $0, snapshot: snapshot())) }
            defer { maintenanceRecorder = nil }
            body()
            return log
        }

        /// Gap 1: the soft path writes a user PTE and the kernel then touches the
        /// address; the PTE must be published (dsb ishst; isb) in between.
        @Test func theSoftPathPublishesTheNewPTEBeforeReturning() {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x2000)
            let uva = MM_HEAP_BASE + 0x1000
            let ops = recording(snapshot: { lookup_pte_slot(task.t, uva)?.pointee ?? 0 }) {
                #expect(check_and_prefault_user_range(uva + 0x10, 8) == 0)
            }
            #expect(ops.map(\.op) == [.publishDescriptors])
            let pte = ops.first?.snapshot ?? 0
            #expect(pte & MM_TD_VALID != 0 && pte & Paging.descriptorAddressMask == task.userPage(0).pa,
                    "the barrier comes after the PTE store")
        }

        /// Gap 1: rollback clears the descriptors it wrote, then invalidates the VA
        /// (walk caches hold table descriptors), and only then frees the tables.
        @Test func rollbackInvalidatesTheWalkBeforeFreeingTheTables() throws {
            let task = TaskBox()
            #expect(map_page(task.t, 0x1000, 0xAAAA_0000, 0x7) == 0)
            FakeMachine.drain(leaving: 1)
            let uva: UInt64 = 0x4000_0000          // same pud table, new pmd (ok) + pte (OOM)
            let freesBefore = mm_pool.free_count
            let pudSlot = tableAt(tableAt(task.t.pointee.mm.pgd)[0] & Paging.descriptorAddressMask) + Paging.index(uva, shift: Paging.pudShift)
            let ops = recording(snapshot: { (mm_pool.free_count - freesBefore) << 32 | pudSlot.pointee }) {
                #expect(map_page(task.t, uva, 0xBBBB_0000, 0x7) == -1)
            }
            #expect(ops.map(\.op) == [.invalidateUserPage(va: uva)])
            #expect(ops.first?.snapshot == 0, "at the TLBI: the pud slot is clear and no table is freed yet")
            #expect(mm_pool.free_count - freesBefore == 1, "then the new pmd is freed")
        }

        /// The same break-before-reuse when unmapping a page (sys_brk's shrink).
        @Test func unmapInvalidatesThePageBeforeFreeingIt() throws {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x1000)
            #expect(do_data_abort(MM_HEAP_BASE, 0x9200_0007) == 0)
            let freesBefore = mm_pool.free_count
            let slot = try #require(lookup_pte_slot(task.t, MM_HEAP_BASE))
            let ops = recording(snapshot: { (mm_pool.free_count - freesBefore) << 32 | slot.pointee }) {
                unmap_user_range(task.t, MM_HEAP_BASE, MM_HEAP_BASE + 0x1000)
            }
            #expect(ops.map(\.op) == [.invalidateUserPage(va: MM_HEAP_BASE)])
            #expect(ops.first?.snapshot == 0, "at the TLBI: the PTE is clear and the page not yet freed")
            #expect(mm_pool.free_count - freesBefore == 1)
        }

        /// ASIDs: a switch no longer flushes the TLB, so releasing an address space
        /// invalidates its ASID (its slot) before any of its pages or tables is freed.
        @Test func releasingAnAddressSpaceInvalidatesItsASIDBeforeFreeingAnything() {
            let t = mm_task_table()! + 3
            t.pointee = mm_task()
            defer { t.pointee = mm_task() }
            #expect(allocate_user_page(t, 0x1000, 0x7) != 0)
            #expect(userTTBR0(of: t, emptyTable: 0x9000) == t.pointee.mm.pgd | 3 << 48)
            let freesBefore = mm_pool.free_count
            let ops = recording(snapshot: { mm_pool.free_count - freesBefore }) { release_task_memory(t) }
            #expect(ops.map(\.op) == [.invalidateAddressSpace(asid: 3)])
            #expect(ops.first?.snapshot == 0, "nothing freed before the TLBI")
            #expect(mm_pool.free_count - freesBefore == 5, "then the page and its 4 tables")
            #expect(userTTBR0(of: t, emptyTable: 0x9000) == 0x9000 | 3 << 48)
            // Tasks outside mm_tasks (the boot self-test's scratch tasks) use ASID 0; so does idle.
            #expect(addressSpaceID(of: TaskBox().t) == 0 && addressSpaceID(of: mm_task_table()!) == 0)
            // An address space that was never built has nothing to invalidate.
            let empty = recording(snapshot: { 0 }) { release_task_memory(t) }
            #expect(empty.isEmpty)
        }

        /// Gap 3: a second demand fault on a page another fault already mapped
        /// (a race on another CPU) succeeds without a second page or slot.
        @Test func demandFaultsAreIdempotent() throws {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x1000)
            #expect(do_data_abort(MM_HEAP_BASE + 0x18, 0x9200_0007) == 0)
            let free = mm_pool.free_pages, pte = try #require(lookup_pte_slot(task.t, MM_HEAP_BASE)).pointee
            #expect(do_data_abort(MM_HEAP_BASE + 0x20, 0x9200_0007) == 0)
            #expect(soft_demand_alloc(MM_HEAP_BASE) == 0)
            #expect(mm_pool.free_pages == free, "no second page")
            #expect(task.upCount == 1, "no second slot")
            #expect(try #require(lookup_pte_slot(task.t, MM_HEAP_BASE)).pointee == pte)
            #expect(FakeMachine.exitProcessCalls == 0)
        }

        /// Gap 3, the racing half: the page appears between the fault's check and
        /// its map_page. map_page leaves the first mapping and hands the page back.
        @Test func mapPageOverAValidPTELeavesItAndTakesNoSlot() throws {
            let task = TaskBox()
            #expect(map_page(task.t, 0x1000, 0xAAAA_0000, 0x7) == 0)
            #expect(map_page(task.t, 0x1000, 0xBBBB_0000, 0x7) == mapPageAlreadyMapped)
            #expect(try #require(lookup_pte_slot(task.t, 0x1000)).pointee == 0xAAAA_0000 | 0x7)
            #expect(task.upCount == 1)
            // allocate_user_page gives its fresh page back and answers with the mapped one.
            let pa = get_free_page()
            #expect(map_page(task.t, 0x2000, pa, 0x7) == 0)
            let free = mm_pool.free_pages
            #expect(allocate_user_page(task.t, 0x2000, 0x7) == paToKva(pa))
            #expect(mm_pool.free_pages == free && task.upCount == 2)
        }

        /// Gap 4: TBI0 is on, so EL0 may fault on a tagged pointer; the tag is not
        /// part of the page (it was classified as wild and killed the task).
        @Test(arguments: [0x5A, 0xFF, 0x01] as [UInt64])
        func aTaggedFaultAddressIsClassifiedByItsPage(tag: UInt64) throws {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x1000)
            #expect(do_data_abort(tag << 56 | MM_HEAP_BASE + 0x40, 0x9200_0007) == 0)
            #expect(FakeMachine.exitProcessCalls == 0)
            #expect(!FakeMachine.consoleText.contains("invalid uva"))
            #expect(task.upCount == 1 && task.userPage(0).uva == MM_HEAP_BASE)
            // The soft path too: a tagged user pointer in a syscall names the same page.
            #expect(check_and_prefault_user_range(tag << 56 | MM_STACK_TOP - 0x10, 8) == 0)
            #expect(task.upCount == 2 && task.userPage(1).uva == MM_STACK_TOP - 0x1000)
            // A tagged wild pointer is still wild.
            #expect(do_data_abort(tag << 56 | 0xDEAD_BEEF_000, 0x9200_0007) == -1)
            #expect(FakeMachine.consoleText.contains("[KERN] invalid uva at 0x"))
        }

        /// Gap 5: fork copies text through the D-side; the child's copy must be
        /// cleaned to the PoU and the I-cache invalidated, for text pages only.
        @Test func forkSyncsTheInstructionCacheForExecutablePagesAfterCopying() {
            let parent = TaskBox(), child = TaskBox()
            parent.makeCurrent()
            let flags: [UInt64] = [MM_TD_USER_TEXT_FLAGS, MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_UXN]
            for (i, f) in flags.enumerated() {
                let pa = get_free_page()   // host: the "user VA" is the page's host address
                #expect(map_page(parent.t, pa, pa, f) == 0)
                UnsafeMutablePointer<UInt64>(bitPattern: UInt(pa))!.update(repeating: 0xC0DE_0000 + UInt64(i), count: 512)
            }
            // At each sync: which page, how much, and whether the copy had landed there.
            nonisolated(unsafe) var syncs: [(kva: UInt64, length: UInt64, copied: Bool)] = []
            maintenanceRecorder = { op in
                guard case .syncInstructionCache(let kva, let length) = op else { return }
                syncs.append((kva, length, UnsafePointer<UInt64>(bitPattern: UInt(kva))![511] == 0xC0DE_0000))
            }
            defer { maintenanceRecorder = nil }
            #expect(copy_virt_memory(child.t) == 0)
            #expect(syncs.count == 1, "the text page only")
            #expect(syncs.first?.kva == paToKva(child.userPage(0).pa))
            #expect(syncs.first?.length == MM_PAGE_SIZE)
            #expect(syncs.first?.copied == true, "after the copy")
        }
    }

    @Suite("free_page double free") struct DoubleFreeTests {
        init() { FakeMachine.reset() }

        /// Gap 6: a second free_page of the same page panics, naming the function
        /// and the page (the list would otherwise hand it to two owners).
        @Test func aDoubleFreePanicsNamingTheFunction() async {
            await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                FakeMachine.reset()
                let pa = get_free_page()
                free_page(pa)
                free_page(pa)
            }.map { result in
                let text = String(decoding: result.standardErrorContent, as: UTF8.self)
                #expect(text.contains("[PANIC] free_page: double free of 0x"), "\(text)")
            }
        }

        @Test func freeingEveryPageOnceIsFineAndTheBitmapFollowsTheList() {
            var pages: [UInt64] = []
            for _ in 0..<10 { pages.append(get_free_page()) }
            #expect(pages.allSatisfy { !isFree($0) })
            for pa in pages.reversed() { free_page(pa) }
            #expect(pages.allSatisfy { isFree($0) })
            #expect(mm_pool.free_pages == FakeMachine.poolPages)
            // Reallocated after a free: free again without a panic.
            let again = get_free_page()
            #expect(again == pages[0] && !isFree(again))
            free_page(again)
            #expect(isFree(again))
        }
    }
}
