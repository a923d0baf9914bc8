import KernelSupport

// Physical page allocator: a singly linked free list threaded through the
// free pages themselves, with every counter in the C global `mm_pool` so a
// debugger reads them at any stop.
//
// Free-page format (what a debugger sees): word 1 holds the PA of the next
// free page (0 = end). A page freed by free_page holds MM_PAGE_POISON in
// every other word; a page never handed out since boot holds it in word 0
// only: init writes two words per page, because poisoning all of RAM costs
// seconds under TCG. Pages handed out are zeroed. A fresh pool is chained
// in ascending PA order, so it hands out base_pa, base_pa + 4K, ... and the
// kernel's first tables come from the lowest RAM.

/// Byte offset of the free-list link inside a free page (word 1; word 0
/// keeps the poison so a dangling read of the page start still sees it).
let freeListLinkOffset = 8

/// Puts `count` pages starting at `basePA` (page aligned, reachable through
/// paToKva) under the allocator and resets every counter and the limit.
public func mm_pool_init(_ basePA: UInt64, _ count: UInt64) {
    mm_pool = mm_page_pool()
    mm_pool.base_pa = basePA
    let bits = mm_pool_free_bitmap()!
    for i in 0..<Int(MM_POOL_MAX_PAGES / 64) { bits[i] = 0 }
    linkFreshPages(from: basePA, count: count)
}

/// Adds the `count` pages directly above the pool (RAM that only became
/// reachable once the kernel's own tables were installed). They are handed
/// out before the pool's remaining pages, lowest first.
public func mm_pool_grow(_ count: UInt64) {
    linkFreshPages(from: poolEnd, count: count)
}

/// Chains [firstPA, firstPA + count pages) in front of the free list,
/// lowest page first, writing only the poison word and the link.
private func linkFreshPages(from firstPA: UInt64, count requested: UInt64) {
    let count = min(requested, UInt64(MM_POOL_MAX_PAGES) &- mm_pool.page_count)
    var index = count
    while index > 0 {
        index -= 1
        let page = pageAt(firstPA &+ index &* Paging.pageSize)
        page.storeBytes(of: MM_PAGE_POISON, as: UInt64.self)
        page.storeBytes(of: mm_pool.free_list, toByteOffset: freeListLinkOffset, as: UInt64.self)
        mm_pool.free_list = firstPA &+ index &* Paging.pageSize
        setFree(mm_pool.free_list, true)
    }
    mm_pool.page_count &+= count
    mm_pool.free_pages &+= count
}

/// Returns a zeroed physical page, or 0 when the pool is empty or the
/// `mm_pool.limit` test hook refuses (both count as a failure).
@inline(never) @_silgen_name("get_free_page")
public func get_free_page() -> UInt64 {
    let head = mm_pool.free_list
    let outstanding = mm_pool.page_count &- mm_pool.free_pages
    if head == 0 || (mm_pool.limit != 0 && outstanding >= mm_pool.limit) {
        mm_pool.fail_count &+= 1
        return 0
    }
    let page = pageAt(head)
    mm_pool.free_list = page.load(fromByteOffset: freeListLinkOffset, as: UInt64.self)
    setFree(head, false)
    fillPage(page, with: 0)
    mm_pool.free_pages &-= 1
    mm_pool.alloc_count &+= 1
    return head
}

/// Returns physical page `pa` to the pool, poisoned. Ignores 0 (the OOM
/// sentinel) and, as a guard against corrupting the list, any PA outside
/// the pool or not page aligned. Panics on a page that is already free: a
/// second free would put it on the list twice and hand it out to two owners.
@inline(never) @_silgen_name("free_page")
public func free_page(_ pa: UInt64) {
    guard isPoolPage(pa) else { return }
    if isFree(pa) { kernelPanic("free_page: double free of 0x", pa) }
    setFree(pa, true)
    let page = pageAt(pa)
    fillPage(page, with: MM_PAGE_POISON)
    page.storeBytes(of: mm_pool.free_list, toByteOffset: freeListLinkOffset, as: UInt64.self)
    mm_pool.free_list = pa
    mm_pool.free_pages &+= 1
    mm_pool.free_count &+= 1
}

/// True if `pa` is a page-aligned address inside the pool.
public func isPoolPage(_ pa: UInt64) -> Bool {
    pa != 0 && pa & ~Paging.pageMask == 0 && pa >= mm_pool.base_pa && pa < poolEnd
}

/// Whether pool page `pa` is on the free list (mm_pool_free_bitmap).
func isFree(_ pa: UInt64) -> Bool {
    let index = Int((pa &- mm_pool.base_pa) >> Paging.pageShift)
    return mm_pool_free_bitmap()![index / 64] >> UInt64(index % 64) & 1 != 0
}

private func setFree(_ pa: UInt64, _ free: Bool) {
    let index = Int((pa &- mm_pool.base_pa) >> Paging.pageShift)
    let bits = mm_pool_free_bitmap()!, bit: UInt64 = 1 << UInt64(index % 64)
    bits[index / 64] = free ? bits[index / 64] | bit : bits[index / 64] & ~bit
}

/// PA just past the pool's last page.
private var poolEnd: UInt64 { mm_pool.base_pa &+ mm_pool.page_count &* Paging.pageSize }

private func pageAt(_ pa: UInt64) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(paToKva(pa)))!
}

/// Word stores: the runtime's byte-wise memset would be 8x slower under TCG.
@inline(__always)
func fillPage(_ page: UnsafeMutableRawPointer, with word: UInt64) {
    let words = page.assumingMemoryBound(to: UInt64.self)
    for i in 0..<Int(Paging.pageSize / 8) { words[i] = word }
}
