import Testing
import KernelSupport
@testable import KernelCore

// map_page's OOM rollback at every level of the walk, beyond the
// reference's pgd and pud cases: whatever fails, the pool and the task's
// bookkeeping end exactly where they started.

extension KernelGlobals {
    @Suite("map_page rollback") struct MapPageRollbackTests {
        init() { FakeMachine.reset() }

        /// Free pages left when the allocation of the named level fails on
        /// a fresh task (pgd, pud, pmd, pte need 4 pages).
        @Test(arguments: [("pgd", 0), ("pud", 1), ("pmd", 2), ("pte", 3)] as [(String, UInt64)])
        func freshTaskRollsBackCompletely(level: String, freePages: UInt64) {
            FakeMachine.drain(leaving: freePages)
            let task = TaskBox()
            #expect(map_page(task.t, 0x40_1000, 0xDEAD_0000, 0x7) == -1, "OOM at \(level)")
            #expect(mm_pool.free_pages == freePages, "baseline-neutral at \(level)")
            #expect(task.kpCount == 0)
            #expect(task.t.pointee.mm.pgd == 0)
            #expect(task.upCount == 0)
        }

        @Test(arguments: [0, 1, 2] as [UInt64])
        func sharedTablesSurviveRollback(freePages: UInt64) throws {
            let task = TaskBox()
            #expect(map_page(task.t, 0x1000, 0xAAAA_0000, 0x7) == 0)
            let pgd = task.t.pointee.mm.pgd
            FakeMachine.drain(leaving: freePages)

            // Another pgd slot: needs a new pud, pmd and pte (3 pages).
            let far: UInt64 = 0x80_0000_0000
            #expect(map_page(task.t, far, 0xBBBB_0000, 0x7) == -1)
            #expect(mm_pool.free_pages == freePages)
            #expect(task.kpCount == 4, "only this call's tables are released")
            #expect(task.t.pointee.mm.pgd == pgd)
            #expect(task.upCount == 1)
            #expect(try #require(lookup_pte_slot(task.t, 0x1000)).pointee == 0xAAAA_0000 | 0x7)
            // No descriptor may still point at a freed table (the reference
            // left one in the pre-existing pgd).
            #expect(lookup_pte_slot(task.t, far) == nil)
            #expect(tableAt(pgd)[Paging.index(far, shift: Paging.pgdShift)] == 0)

            // And the next attempt builds the walk afresh.
            FakeMachine.reset()
            let again = TaskBox()
            #expect(map_page(again.t, 0x1000, 0xAAAA_0000, 0x7) == 0)
            #expect(map_page(again.t, far, 0xBBBB_0000, 0x7) == 0)
            #expect(try #require(lookup_pte_slot(again.t, far)).pointee == 0xBBBB_0000 | 0x7)
        }

        @Test func rollbackInsideAnExistingPudClearsTheFilledPudSlot() throws {
            let task = TaskBox()
            #expect(map_page(task.t, 0x1000, 0xAAAA_0000, 0x7) == 0)
            FakeMachine.drain(leaving: 1)
            // Same pgd and pud entry's table, another pud slot: new pmd (ok) + pte (OOM).
            let uva: UInt64 = 0x4000_0000
            #expect(map_page(task.t, uva, 0xBBBB_0000, 0x7) == -1)
            #expect(mm_pool.free_pages == 1)
            #expect(lookup_pte_slot(task.t, uva) == nil)
            let pud = tableAt(task.t.pointee.mm.pgd)[0] & Paging.pageMask
            #expect(tableAt(pud)[1] == 0)
        }

        @Test func fullUserPageTableFailsBeforeTouchingAnything() {
            let task = TaskBox()
            for i: UInt64 in 0..<64 {
                #expect(map_page(task.t, 0x1000 * (i + 1), 0x10_0000 + i << 12, 0x7) == 0)
            }
            let before = mm_pool.free_pages
            // Needs new tables, and there is no user_pages slot left.
            #expect(map_page(task.t, 0x80_0000_0000, 0xDEAD_0000, 0x7) == -1)
            #expect(mm_pool.free_pages == before)
            #expect(task.kpCount == 4)
            #expect(lookup_pte_slot(task.t, 0x80_0000_0000) == nil)
            // allocate_user_page hands its page back as well.
            #expect(allocate_user_page(task.t, 0x100_0000, 0x7) == 0)
            #expect(mm_pool.free_pages == before)
        }

        @Test func allocateUserPageIsBaselineNeutralAtEveryLevel() {
            for freePages: UInt64 in 0...4 {
                FakeMachine.reset()
                FakeMachine.drain(leaving: freePages)
                let task = TaskBox()
                #expect(allocate_user_page(task.t, 0x1000, 0x7) == 0, "\(freePages) free pages")
                #expect(mm_pool.free_pages == freePages)
            }
            FakeMachine.reset()
            FakeMachine.drain(leaving: 5)
            let task = TaskBox()
            let kva = allocate_user_page(task.t, 0x1000, 0x7)
            #expect(kva != 0)
            #expect(kva == paToKva(task.userPage(0).pa))
            #expect(mm_pool.free_pages == 0)
        }

        @Test func runningOutOfTableSlotsFailsCleanly() {
            let task = TaskBox()
            // Each new pgd slot costs 3 tables: 1 + 21 * 3 = 64 slots fill up.
            for i: UInt64 in 0..<21 {
                #expect(map_page(task.t, i << 39, 0x10_0000 + i << 12, 0x7) == 0)
            }
            #expect(task.kpCount == 64)
            let before = mm_pool.free_pages
            #expect(map_page(task.t, 21 << 39, 0xDEAD_0000, 0x7) == -1)
            #expect(mm_pool.free_pages == before)
            #expect(task.kpCount == 64)
            #expect(task.upCount == 21)
        }

        @Test func limitHookForcesTheSameRollback() {
            let task = TaskBox()
            mm_pool.limit = 2 // pgd and pud succeed, pmd fails
            #expect(map_page(task.t, 0x1000, 0xDEAD_0000, 0x7) == -1)
            #expect(mm_pool.free_pages == 256)
            #expect(mm_pool.fail_count == 1)
            #expect(task.kpCount == 0)
        }
    }
}
