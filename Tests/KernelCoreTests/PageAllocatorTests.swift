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
            let pa = get_free_page(), other = get_free_page()
            #expect(words(ofPage: pa).allSatisfy { $0 == 0 })
            UnsafeMutablePointer<UInt64>(bitPattern: UInt(paToKva(pa)))!.update(repeating: 0x1234, count: 512)

            free_page(pa)
            free_page(other)
            #expect(mm_pool.free_list == other)
            // Word 1 links the list: other -> pa -> the page that headed it before.
            #expect(words(ofPage: other)[1] == pa)
            #expect(words(ofPage: pa)[1] == FakeMachine.basePA + 0x2000)
            for (i, word) in words(ofPage: pa).enumerated() where i != 1 {
                #expect(word == MM_PAGE_POISON, "word \(i)")
            }
            #expect(MM_PAGE_POISON == 0x6B6B_6B6B_6B6B_6B6B)
            #expect(get_free_page() == other)
            #expect(words(ofPage: other).allSatisfy { $0 == 0 }, "poison is wiped on allocation")
        }

        @Test func initWritesOnlyThePoisonWordAndTheLink() {
            let last = FakeMachine.basePA + 255 * 0x1000
            let marker = UnsafeMutablePointer<UInt64>(bitPattern: UInt(paToKva(last)))!
            marker[2] = 0xFEED
            FakeMachine.reset()
            #expect(marker[0] == MM_PAGE_POISON)
            #expect(marker[1] == 0, "the highest page ends the list")
            #expect(marker[2] == 0xFEED, "init does not poison whole pages")
            #expect(words(ofPage: FakeMachine.basePA)[1] == FakeMachine.basePA + 0x1000)
            FakeMachine.drain(255)
            #expect(get_free_page() == last)
            #expect(marker[2] == 0, "handed-out pages are zeroed")
        }

        @Test func growAddsThePagesAboveThePoolLowestFirst() {
            // Re-initialise with the upper half held back, then grow into it.
            mm_pool_init(FakeMachine.basePA, 128)
            _ = get_free_page()
            mm_pool_grow(128)
            #expect(mm_pool.page_count == 256)
            #expect(mm_pool.free_pages == 255)
            #expect(get_free_page() == FakeMachine.basePA + 128 * 0x1000)
            #expect(isPoolPage(FakeMachine.basePA + 255 * 0x1000))
            FakeMachine.drain(253)
            #expect(mm_pool.free_pages == 1)
            #expect(get_free_page() != 0)
            #expect(get_free_page() == 0)
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
