import KernelSupport

// The SOFT path: syscalls touching user memory fault pages in up front and
// turn a bad pointer into -1 for the caller, never into exit_process.

/// Demand-maps the page at page-aligned `faultUVA` in the current task if
/// it lies in the heap below brk or the stack. -1 for any other region and
/// on allocation failure; never ends the task.
public func soft_demand_alloc(_ faultUVA: UInt64) -> Int32 {
    guard let current = mm_current_task() else { return -1 }
    guard UserRegion(faultUVA, brk: current.pointee.mm.brk).isDemandPaged else { return -1 }
    return demandMapPage(current, faultUVA) ? 0 : -1
}

/// Ensures every page of [uva, uva + len) is mapped in the current task,
/// demand-allocating heap and stack pages. -1 on overflow, a range above
/// the stack top, or any page that cannot be mapped.
@inline(never) @_silgen_name("check_and_prefault_user_range")
public func check_and_prefault_user_range(_ taggedUVA: UInt64, _ len: UInt64) -> Int32 {
    let uva = untaggedUserAddress(taggedUVA)   // TBI0: the kernel's access ignores the tag too
    let (end, overflow) = uva.addingReportingOverflow(len)
    if overflow || end > MM_STACK_TOP { return -1 }
    if len == 0 { return 0 }
    guard let current = mm_current_task() else { return -1 }

    let lastPage = (end - 1) & Paging.pageMask
    var page = uva & Paging.pageMask
    while true {
        if !isMapped(current, page) && soft_demand_alloc(page) < 0 { return -1 }
        if page == lastPage { return 0 }
        page += Paging.pageSize
    }
}

/// True if `t` records a user page at page-aligned `uva`.
private func isMapped(_ t: UnsafeMutablePointer<mm_task>, _ uva: UInt64) -> Bool {
    let pages = mm_task_user_pages(t)!
    for i in 0..<Int(MM_MAX_PAGE_COUNT) where pages[i].pa != 0 && pages[i].uva == uva { return true }
    return false
}

/// 0 if the kernel may store to [uva, uva + len) now: every page mapped
/// (heap and stack demand-allocated as by check_and_prefault_user_range)
/// and writable at EL0 (AP[2] read-only applies at EL1 too). -1 otherwise.
public func check_user_range_writable(_ uva: UInt64, _ len: UInt64) -> Int32 {
    if check_and_prefault_user_range(uva, len) < 0 { return -1 }
    if len == 0 { return 0 }
    guard let current = mm_current_task() else { return -1 }
    return isWritable(current, untaggedUserAddress(uva), len) ? 0 : -1
}

/// True if every page of the non-empty range [uva, uva + len) has a valid
/// leaf without AP[2] (read-only) in `t`'s tables. The live descriptor, not
/// the flags recorded in user_pages, decides: that is what the store meets.
private func isWritable(_ t: UnsafeMutablePointer<mm_task>, _ uva: UInt64, _ len: UInt64) -> Bool {
    let lastPage = (uva + len - 1) & Paging.pageMask
    var page = uva & Paging.pageMask
    while true {
        guard let slot = lookup_pte_slot(t, page) else { return false }
        let descriptor = slot.pointee
        if descriptor & 1 == 0 || descriptor & MM_TD_AP_RO != 0 { return false }
        if page == lastPage { return true }
        page += Paging.pageSize
    }
}

/// Copies `len` bytes from user VA `uva` (current TTBR0) into `kbuf`.
/// 0, or -1 for a bad user range.
@inline(never) @_silgen_name("copy_from_user")
public func copy_from_user(_ kbuf: UnsafeMutableRawPointer, _ uva: UInt64, _ len: UInt64) -> Int32 {
    if check_and_prefault_user_range(uva, len) < 0 { return -1 }
    if len > 0 { kbuf.copyMemory(from: UnsafeRawPointer(bitPattern: UInt(uva))!, byteCount: Int(len)) }
    return 0
}

/// Copies `len` bytes from `kbuf` to user VA `uva` (current TTBR0).
/// 0, or -1 for a bad user range, including one that is mapped but not
/// writable (text, or a page a debugger made read-only): the kernel's store
/// would otherwise take a permission fault at EL1 and panic.
@inline(never) @_silgen_name("copy_to_user")
public func copy_to_user(_ uva: UInt64, _ kbuf: UnsafeRawPointer, _ len: UInt64) -> Int32 {
    if check_user_range_writable(uva, len) < 0 { return -1 }
    if len > 0 { UnsafeMutableRawPointer(bitPattern: UInt(uva))!.copyMemory(from: kbuf, byteCount: Int(len)) }
    return 0
}
