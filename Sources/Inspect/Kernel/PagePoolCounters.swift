import KernelABI

/// The physical page pool's counters (`mm_pool`).
public struct PagePoolCounters: Codable, Sendable, Hashable {
    public var basePhysicalAddress: UInt64
    public var pageCount: UInt64
    public var freePages: UInt64
    public var allocations: UInt64
    public var frees: UInt64
    public var failures: UInt64
    /// PA of the first free page (0 = empty).
    public var freeListHead: UInt64
    /// Allocation limit test hook (0 = none).
    public var limit: UInt64

    /// Pages handed out and not freed.
    public var usedPages: UInt64 { pageCount &- freePages }

    /// The pool page holding `pa` (any byte of it), or nil outside the pool.
    public func page(containing pa: UInt64) -> UInt64? {
        let page = pa & ~(MM_PAGE_SIZE - 1)
        return contains(page) ? page : nil
    }

    /// Whether `pa` is a page of the pool.
    public func contains(_ pa: UInt64) -> Bool {
        pa >= basePhysicalAddress && pa < basePhysicalAddress &+ pageCount &* MM_PAGE_SIZE && pa & (MM_PAGE_SIZE - 1) == 0
    }

    init(_ pool: mm_page_pool) {
        basePhysicalAddress = pool.base_pa
        pageCount = pool.page_count
        freePages = pool.free_pages
        allocations = pool.alloc_count
        frees = pool.free_count
        failures = pool.fail_count
        freeListHead = pool.free_list
        limit = pool.limit
    }
}
