import Testing
import KernelSupport
@testable import KernelCore

// Every host test of the reference module (mm_user), ported one to one,
// in its order and with its assertions.

extension KernelGlobals {
    @Suite("Reference mm_user host tests") struct ReferenceMMUserTests {
        init() { FakeMachine.reset() }

        @Test("task_kp_count/task_up_count on empty task") func countsOnEmptyTask() {
            let task = TaskBox()
            #expect(task.kpCount == 0)
            #expect(task.upCount == 0)
        }

        @Test("map_page allocates tables") func mapPageAllocatesTables() {
            let task = TaskBox()
            let uva: UInt64 = 0x1000, pa: UInt64 = 0xDEAD_0000, flags: UInt64 = 0x7
            #expect(map_page(task.t, uva, pa, flags) == 0)
            // pgd, pud, pmd, pte
            #expect(task.t.pointee.mm.pgd != 0)
            #expect(task.kpCount == 4)
            #expect(task.upCount == 1)
            #expect(task.userPage(0).pa == pa)
            #expect(task.userPage(0).uva == uva)
            #expect(task.userPage(0).flags == flags)
        }

        @Test("lookup_pte_slot finds mapped page") func lookupFindsMappedPage() throws {
            let task = TaskBox()
            let uva: UInt64 = 0x2000, pa: UInt64 = 0xBEEF_0000
            _ = map_page(task.t, uva, pa, 0x7)

            let pte = try #require(lookup_pte_slot(task.t, uva))
            #expect(pte.pointee == pa | 0x7)

            // Same pte table, empty slot.
            let unmapped = try #require(lookup_pte_slot(task.t, 0x3000))
            #expect(unmapped.pointee == 0)

            // Different pud entry: no tables there.
            #expect(lookup_pte_slot(task.t, 0x10_0000_0000) == nil)
        }

        @Test("unmap_user_range clears entries") func unmapClearsEntries() throws {
            let task = TaskBox()
            _ = map_page(task.t, 0x1000, 0x10000, 0x7)
            _ = map_page(task.t, 0x2000, 0x20000, 0x7)
            _ = map_page(task.t, 0x3000, 0x30000, 0x7)

            unmap_user_range(task.t, 0x1500, 0x2500)

            #expect(task.userPage(1).pa == 0)
            #expect(task.userPage(0).pa != 0)
            #expect(task.userPage(2).pa != 0)
            let pte = try #require(lookup_pte_slot(task.t, 0x2000))
            #expect(pte.pointee == 0)
        }

        @Test("do_data_abort maps heap") func dataAbortMapsHeap() {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x2000)
            let faultUVA = MM_HEAP_BASE + 0x1000
            #expect(do_data_abort(faultUVA, 0x9200_0004) == 0) // translation fault, level 0
            #expect(task.upCount == 1)
            #expect(task.userPage(0).uva == faultUVA)
        }

        @Test("check_and_prefault_user_range maps range") func prefaultMapsRange() {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x3000)
            // [HEAP_BASE + 0x500, HEAP_BASE + 0x2500) touches pages +0, +0x1000, +0x2000.
            #expect(check_and_prefault_user_range(MM_HEAP_BASE + 0x500, 0x2000) == 0)
            #expect(task.upCount == 3)
        }

        @Test("check_and_prefault_user_range -1 on wild UVA (soft path)") func prefaultWildUVAIsSoft() {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x1000)
            // 0xDEADBEEF000 sits in the 16 TiB heap-stack gap.
            #expect(check_and_prefault_user_range(0xDEAD_BEEF_000, 1) == -1)
            #expect(task.upCount == 0)
            #expect(FakeMachine.exitProcessCalls == 0, "the soft path must never call exit_process")
        }

        @Test("map_page rolls back tables and returns -1 on table OOM") func mapPageRollsBackOnTableOOM() {
            // One free page: the pgd takes it, the pud allocation hits the sentinel.
            FakeMachine.drain(255)
            let task = TaskBox()
            #expect(map_page(task.t, 0x1000, 0xDEAD_0000, 0x7) == -1)
            #expect(task.kpCount == 0)
            #expect(task.t.pointee.mm.pgd == 0)
            #expect(task.upCount == 0)
            #expect(mm_pool.free_pages == 1, "the pgd went back to the pool")
        }

        @Test("map_page returns -1 when the pgd allocation OOMs") func mapPageFailsOnPgdOOM() {
            FakeMachine.drain(256)
            let task = TaskBox()
            #expect(map_page(task.t, 0x1000, 0xDEAD_0000, 0x7) == -1)
            #expect(task.t.pointee.mm.pgd == 0)
            #expect(task.kpCount == 0)
        }

        @Test("allocate_user_page returns 0 on OOM") func allocateUserPageOOM() {
            FakeMachine.drain(256)
            let task = TaskBox()
            #expect(allocate_user_page(task.t, 0x1000, 0x7) == 0)
        }

        @Test("soft demand-alloc returns -1 on OOM without exit_process") func softDemandAllocOOM() {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x2000)
            FakeMachine.drain(256)
            #expect(check_and_prefault_user_range(MM_HEAP_BASE + 0x500, 1) == -1)
            #expect(task.upCount == 0)
            #expect(FakeMachine.exitProcessCalls == 0, "the soft path must never call exit_process")
        }
    }
}
