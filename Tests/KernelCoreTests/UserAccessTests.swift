import Testing
import Glibc
import KernelSupport
@testable import KernelCore

// The soft path and the user-copy functions. On the host a "user VA" is
// dereferenced directly (there is no TTBR0), so the copy tests place real
// host memory at MM_HEAP_BASE with a fixed mmap.

extension KernelGlobals {
    @Suite("User access (soft path)") struct UserAccessTests {
        let task = TaskBox()
        init() {
            FakeMachine.reset()
            task.makeCurrent(heapBytes: 0x3000)
        }

        /// Host memory at [MM_HEAP_BASE, +4 pages) for the duration of `body`.
        private func withHostMemoryAtHeapBase(_ body: () throws -> Void) throws {
            let length = 4 * Int(MM_PAGE_SIZE)
            let address = mmap(UnsafeMutableRawPointer(bitPattern: UInt(MM_HEAP_BASE)), length,
                               PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
            try #require(address == UnsafeMutableRawPointer(bitPattern: UInt(MM_HEAP_BASE)),
                         "cannot place test memory at MM_HEAP_BASE (errno \(errno))")
            defer { munmap(address, length) }
            try body()
        }

        @Test func copyToUserPagesInTheTargetAndCopies() throws {
            try withHostMemoryAtHeapBase {
                var message = Array("hello, user".utf8)
                let uva = MM_HEAP_BASE + 0xFFA // straddles two pages
                #expect(copy_to_user(uva, &message, UInt64(message.count)) == 0)
                #expect(task.upCount == 2)
                #expect(task.userPage(0).uva == MM_HEAP_BASE)
                #expect(task.userPage(1).uva == MM_HEAP_BASE + 0x1000)

                var back = [UInt8](repeating: 0, count: message.count)
                #expect(copy_from_user(&back, uva, UInt64(back.count)) == 0)
                #expect(back == message)
                #expect(task.upCount == 2, "already mapped pages are not mapped again")
            }
        }

        @Test(arguments: [
            (0xDEAD_BEEF_000, 8),              // wild
            (MM_HEAP_BASE + 0x2FF8, 16),       // runs past brk
            (MM_STACK_TOP - 4, 8),             // runs past the stack top
            (UInt64.max - 2, 8),               // wraps around
            (MM_TEXT_BASE, 4),                 // text is never demand-paged
        ] as [(UInt64, UInt64)])
        func badUserRangesFailSoftly(uva: UInt64, len: UInt64) {
            var buffer = [UInt8](repeating: 0, count: 16)
            #expect(copy_from_user(&buffer, uva, len) == -1)
            #expect(copy_to_user(uva, buffer, len) == -1)
            #expect(FakeMachine.exitProcessCalls == 0)
            #expect(FakeMachine.consoleText == "")
        }

        @Test func copyToAReadOnlyPageFailsSoftlyAndReadingItWorks() throws {
            try withHostMemoryAtHeapBase {
                // Text-like page (AP[2] set) where the heap starts; the next page writable.
                #expect(map_page(task.t, MM_HEAP_BASE, get_free_page(), MM_TD_USER_TEXT_FLAGS) == 0)
                UnsafeMutablePointer<UInt64>(bitPattern: UInt(MM_HEAP_BASE))!.pointee = 0x5EED
                var word: UInt64 = 0xBAD
                #expect(copy_to_user(MM_HEAP_BASE, &word, 8) == -1)
                #expect(copy_to_user(MM_HEAP_BASE + 0xFFC, &word, 8) == -1, "a range that only starts read-only")
                #expect(UnsafeMutablePointer<UInt64>(bitPattern: UInt(MM_HEAP_BASE))!.pointee == 0x5EED)
                #expect(copy_to_user(MM_HEAP_BASE + 0x1000, &word, 8) == 0, "the writable page next to it")
                #expect(copy_from_user(&word, MM_HEAP_BASE, 8) == 0 && word == 0x5EED)
                #expect(FakeMachine.exitProcessCalls == 0)
            }
        }

        @Test func emptyRangeIsAlwaysFine() {
            #expect(check_and_prefault_user_range(0xDEAD_BEEF_000, 0) == 0)
            #expect(task.upCount == 0)
        }

        @Test func prefaultCoversTheStackAndStopsAtTheTop() {
            #expect(check_and_prefault_user_range(MM_STACK_TOP - 0x1800, 0x1800) == 0)
            #expect(task.upCount == 2)
            #expect(soft_demand_alloc(MM_STACK_GUARD_LOW) == -1, "guard pages never demand-page")
        }

        @Test func prefaultOOMMidRangeKeepsWhatItMapped() {
            FakeMachine.drain(leaving: 5) // 4 tables + first page, second page fails
            #expect(check_and_prefault_user_range(MM_HEAP_BASE, 0x2000) == -1)
            #expect(task.upCount == 1)
            #expect(mm_pool.free_pages == 0)
            #expect(FakeMachine.exitProcessCalls == 0)
        }
    }

    @Suite("Fork and teardown") struct ForkAndTeardownTests {
        init() { FakeMachine.reset() }

        @Test func copyVirtMemoryClonesPagesFlagsAndBrk() throws {
            let parent = TaskBox(), child = TaskBox()
            parent.makeCurrent(heapBytes: 0x5000)
            // Host: the "user VA" of each page is its host address, so the
            // copy reads the parent's bytes through it as TTBR0 would.
            let flags: [UInt64] = [MM_TD_USER_TEXT_FLAGS, MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_UXN]
            var parentPages: [UInt64] = []
            for (i, f) in flags.enumerated() {
                let pa = get_free_page()
                #expect(map_page(parent.t, pa, pa, f) == 0)
                UnsafeMutablePointer<UInt64>(bitPattern: UInt(pa))!.update(repeating: 0xC0DE_0000 + UInt64(i), count: 512)
                parentPages.append(pa)
            }

            #expect(copy_virt_memory(child.t) == 0)
            #expect(child.upCount == 2)
            #expect(child.t.pointee.mm.brk == MM_HEAP_BASE + 0x5000)
            for i in 0..<2 {
                let page = child.userPage(i)
                #expect(page.uva == parentPages[i])
                #expect(page.flags == flags[i])
                #expect(page.pa != parentPages[i])
                let words = UnsafeBufferPointer(start: UnsafePointer<UInt64>(bitPattern: UInt(paToKva(page.pa))), count: 512)
                #expect(words.allSatisfy { $0 == 0xC0DE_0000 + UInt64(i) })
                #expect(try #require(lookup_pte_slot(child.t, page.uva)).pointee == page.pa | flags[i])
            }
        }

        @Test func copyVirtMemoryFailsOnOOM() {
            let parent = TaskBox(), child = TaskBox()
            parent.makeCurrent()
            let first = get_free_page(), second = get_free_page()
            #expect(map_page(parent.t, first, first, 0x7) == 0)
            #expect(map_page(parent.t, second, second, 0x7) == 0)
            // The first clone costs 4 tables + 1 page; nothing is left for the second.
            FakeMachine.drain(leaving: 5)
            #expect(copy_virt_memory(child.t) == -1)
            #expect(child.upCount == 1)
            #expect(mm_pool.free_pages == 0, "what was cloned stays until the child is reaped")
            release_task_memory(child.t)
            #expect(mm_pool.free_pages == 5)
        }

        @Test func releaseTaskMemoryReturnsEveryPage() {
            let task = TaskBox()
            for uva: UInt64 in [0x1000, 0x2000, 0x80_0000_0000, MM_STACK_TOP - 0x1000] {
                #expect(allocate_user_page(task.t, uva, 0x7) != 0)
            }
            unmap_user_range(task.t, 0x2000, 0x3000) // leaves a hole in user_pages
            #expect(mm_pool.free_pages < 256)
            release_task_memory(task.t)
            #expect(mm_pool.free_pages == 256)
            #expect(task.kpCount == 0)
            #expect(task.upCount == 0)
            #expect(task.t.pointee.mm.pgd == 0)
        }

        @Test func unmapThenRegrowNeverSeesTheStalePTE() throws {
            let task = TaskBox()
            task.makeCurrent(heapBytes: 0x2000)
            #expect(do_data_abort(MM_HEAP_BASE + 0x1000, 0x9200_0007) == 0)
            let firstPA = task.userPage(0).pa
            unmap_user_range(task.t, MM_HEAP_BASE + 0x1000, MM_HEAP_BASE + 0x2000)
            #expect(try #require(lookup_pte_slot(task.t, MM_HEAP_BASE + 0x1000)).pointee == 0)
            #expect(mm_pool.free_list == firstPA, "freed page heads the free list")
            // Regrow: the prefault sees the page as unmapped and maps it again.
            #expect(check_and_prefault_user_range(MM_HEAP_BASE + 0x1000, 8) == 0)
            #expect(try #require(lookup_pte_slot(task.t, MM_HEAP_BASE + 0x1000)).pointee & Paging.descriptorAddressMask == firstPA)
        }
    }
}
