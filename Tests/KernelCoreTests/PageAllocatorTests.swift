import Testing
import KernelSupport
@testable import KernelCore

extension KernelGlobals {
    @Suite("Physical page allocator") struct PageAllocatorTests {
        init() { FakeMachine.reset() }

        private func words(ofPage pa: UInt64) -> UnsafeBufferPointer<UInt64> {
            UnsafeBufferPointer(start: UnsafePointer(bitPattern: UInt(paToKva(pa))), count: 512)
        }

        @Test func freshPoolHandsOutPagesInAscendingOrder() {
            let base = FakeMachine.basePA
            #expect(mm_pool.base_pa == base)
            #expect(mm_pool.page_count == 256)
            #expect(mm_pool.free_pages == 256)
            #expect(get_free_page() == base)
            #expect(get_free_page() == base + 0x1000)
            #expect(get_free_page() == base + 0x2000)
        }

        @Test func allocatedPagesAreZeroedAndFreedPagesPoisoned() {
            let pa = get_free_page()
            #expect(words(ofPage: pa).allSatisfy { $0 == 0 })
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(paToKva(pa)))!.update(repeating: 0x1234, count: 512)

            free_page(pa)
            let freed = words(ofPage: pa)
            // Word 1 links the free list (to the page after it: the list head before).
            #expect(freed[1] == pa + 0x1000)
            for (i, word) in freed.enumerated() where i != 1 {
                #expect(word == MM_PAGE_POISON, "word \(i)")
            }
            #expect(MM_PAGE_POISON == 0x6B6B_6B6B_6B6B_6B6B)
        }

        @Test func countersTrackEveryCall() {
            let a = get_free_page(), b = get_free_page()
            free_page(a)
            #expect(mm_pool.alloc_count == 2)
            #expect(mm_pool.free_count == 1)
            #expect(mm_pool.free_pages == 255)
            #expect(mm_pool.fail_count == 0)
            #expect(get_free_page() == a, "LIFO: the page just freed comes back first")
            free_page(b)
            FakeMachine.drain(255)
            #expect(mm_pool.free_pages == 0)
            #expect(get_free_page() == 0)
            #expect(get_free_page() == 0)
            #expect(mm_pool.fail_count == 2)
            #expect(mm_pool.alloc_count == 3 + 255)
        }

        @Test func limitHookCapsOutstandingPages() {
            mm_pool.limit = 3
            #expect(get_free_page() != 0)
            #expect(get_free_page() != 0)
            let third = get_free_page()
            #expect(third != 0)
            #expect(get_free_page() == 0, "limit 3 allows three outstanding pages")
            #expect(mm_pool.fail_count == 1)
            free_page(third)
            #expect(get_free_page() == third)
        }

        @Test func freeIgnoresTheSentinelAndForeignAddresses() {
            free_page(0)
            free_page(0xDEAD_0000)                        // not pool memory
            free_page(FakeMachine.basePA + 0x10)          // not page aligned
            free_page(FakeMachine.basePA + 256 * 0x1000)  // one past the end
            #expect(mm_pool.free_count == 0)
            #expect(mm_pool.free_pages == 256)
        }
    }
}
