import KernelSupport

// User (TTBR0) page tables of one task, with the reference module's
// (mm_user) semantics. Every table page a task owns, pgd included, is
// recorded in mm.kernel_pages[]; every mapped user page in mm.user_pages[].
// The first zero slot ends each list (a zero user_pages[].pa is a hole
// left by unmap_user_range; counting stops there too, as in the reference).
//
// Functions a debugger breaks on or forces to fail have plain symbol names
// (@_silgen_name) and return their status in x0, so "return early with
// x0 = value" behaves exactly like the function failing.

/// Number of populated kernel-page (table) slots in `t`.
public func task_kp_count(_ t: UnsafeMutablePointer<mm_task>) -> Int32 {
    let pages = mm_task_kernel_pages(t)!
    for i in 0..<Int(MM_MAX_PAGE_COUNT) where pages[i] == 0 { return Int32(i) }
    return MM_MAX_PAGE_COUNT
}

/// Number of populated user-page slots in `t`.
public func task_up_count(_ t: UnsafeMutablePointer<mm_task>) -> Int32 {
    let pages = mm_task_user_pages(t)!
    for i in 0..<Int(MM_MAX_PAGE_COUNT) where pages[i].pa == 0 { return Int32(i) }
    return MM_MAX_PAGE_COUNT
}

/// Looks up or allocates the next-level table for `uva` in `table` (a
/// kernel-virtual pointer), indexing with `shift`. Returns the PA of the
/// next level, or 0 on OOM WITHOUT touching the table (a `0 | flags`
/// descriptor would map PA 0). `newTable` is set to 1 iff a page was
/// allocated, so the caller can record it.
@inline(never) @_silgen_name("map_table")
public func map_table(_ table: UnsafeMutablePointer<UInt64>, _ shift: UInt64, _ uva: UInt64,
                      _ newTable: UnsafeMutablePointer<Int32>) -> UInt64 {
    let index = Paging.index(uva, shift: shift)
    if table[index] == 0 {
        let nextLevel = get_free_page()
        if nextLevel == 0 {
            newTable.pointee = 0
            return 0
        }
        newTable.pointee = 1
        table[index] = nextLevel | MM_TD_USER_TABLE_FLAGS
        return nextLevel
    }
    newTable.pointee = 0
    return table[index] & Paging.pageMask
}

/// Writes the leaf descriptor `physPage | flags` for `uva` into `pte`.
public func map_table_entry(_ pte: UnsafeMutablePointer<UInt64>, _ uva: UInt64, _ physPage: UInt64, _ flags: UInt64) {
    pte[Paging.index(uva, shift: Paging.pageShift)] = physPage | flags
}

/// Undoes the table allocations of one map_page call: frees and clears
/// kernel_pages[kp0...] and resets the pgd if this call created it. Tables
/// that already existed were not recorded by this call and stay intact.
func rollback_map_tables(_ t: UnsafeMutablePointer<mm_task>, _ kp0: Int32, _ pgdWasFresh: Bool) {
    #if MUTANT_NO_ROLLBACK
    // Fault-injection mutant: the reference bug this rollback fixes.
    return
    #else
    let pages = mm_task_kernel_pages(t)!
    var i = task_kp_count(t) - 1
    while i >= kp0 {
        free_page(pages[Int(i)])
        pages[Int(i)] = 0
        i -= 1
    }
    if pgdWasFresh { t.pointee.mm.pgd = 0 }
    #endif
}

/// The state one map_page call needs to undo itself: the rollback
/// snapshot of the reference (kp0, pgdWasFresh) plus the descriptor slots
/// this call filled in tables that already existed.
///
/// Deviation from the reference, on purpose: the reference frees the new
/// tables but leaves their descriptors in the parent table when that parent
/// predates the call (a task that already had a pgd). The next walk through
/// that slot then uses a freed - soon reused - page as a table. Clearing
/// the slots makes the rollback truly leave the task as it was.
private struct MapPageUndo {
    let task: UnsafeMutablePointer<mm_task>
    let uva: UInt64
    let kp0: Int32
    let pgdWasFresh: Bool
    var filledSlots: (UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<UInt64>?, UnsafeMutablePointer<UInt64>?)
        = (nil, nil, nil)

    mutating func recordFilled(_ slot: UnsafeMutablePointer<UInt64>) {
        if filledSlots.0 == nil { filledSlots.0 = slot }
        else if filledSlots.1 == nil { filledSlots.1 = slot }
        else { filledSlots.2 = slot }
    }

    /// Clears the filled slots, then makes sure no walker still uses them
    /// (a walk cache may hold the table descriptors: break before the
    /// tables are freed and reused), then frees the tables.
    func rollback() {
        #if !MUTANT_NO_ROLLBACK
        filledSlots.0?.pointee = 0
        filledSlots.1?.pointee = 0
        filledSlots.2?.pointee = 0
        if filledSlots.0 != nil { perform(.invalidateUserPage(va: uva)) }
        #endif
        rollback_map_tables(task, kp0, pgdWasFresh)
    }
}

/// One level of map_page's walk: the next table for `uva` below the table
/// at `tablePA`, recorded in kernel_pages if new. 0 on OOM or slot
/// exhaustion, after rolling the whole call back.
private func walkLevel(_ undo: inout MapPageUndo, _ tablePA: UInt64, _ shift: UInt64, _ uva: UInt64) -> UInt64 {
    let t = undo.task
    let table = tableAt(tablePA)
    var newTable: Int32 = 0
    let next = map_table(table, shift, uva, &newTable)
    if next == 0 {
        undo.rollback()
        return 0
    }
    if newTable != 0 {
        undo.recordFilled(table + Paging.index(uva, shift: shift))
        let count = task_kp_count(t)
        if count == MM_MAX_PAGE_COUNT {
            free_page(next) // not recorded in kernel_pages: free it here
            undo.rollback()
            return 0
        }
        mm_task_kernel_pages(t)![Int(count)] = next
    }
    return next
}

/// map_page's status when `uva` already has a valid leaf: nothing was
/// written or recorded, and `physPage` still belongs to the caller.
public let mapPageAlreadyMapped: Int32 = 1

/// Maps `physPage` at user VA `uva` in `t` with leaf `flags`, allocating
/// the pgd and pud/pmd/pte tables as needed, and records the page in
/// mm.user_pages. Returns 0; `mapPageAlreadyMapped` (1) if `uva` is mapped
/// already - a racing demand fault found the page there - leaving the
/// existing page, its slot and `physPage` alone; or -1 when the task is
/// out of slots or the allocator is out of memory: tables allocated by this
/// call are then rolled back, so a failed call leaves the pool as it found it.
/// The leaf is published (dsb ishst; isb) before the call returns, so the
/// caller may touch `uva` at once.
@inline(never) @_silgen_name("map_page")
public func map_page(_ t: UnsafeMutablePointer<mm_task>, _ uva: UInt64, _ physPage: UInt64, _ flags: UInt64) -> Int32 {
    // Idempotent: the reference writes a second leaf over a valid one,
    // leaking the first page and recording a second slot for one VA.
    if let leaf = lookup_pte_slot(t, uva), leaf.pointee & MM_TD_VALID != 0 { return mapPageAlreadyMapped }
    // The reference checks for a free user_pages slot only after writing
    // the leaf, leaving a PTE to a page its caller then frees. Checking
    // first keeps the failure side-effect free.
    let upCount = task_up_count(t)
    if upCount == MM_MAX_PAGE_COUNT { return -1 }
    var undo = MapPageUndo(task: t, uva: uva, kp0: task_kp_count(t), pgdWasFresh: t.pointee.mm.pgd == 0)

    if undo.pgdWasFresh {
        if undo.kp0 == MM_MAX_PAGE_COUNT { return -1 }
        let newPgd = get_free_page()
        if newPgd == 0 { return -1 } // nothing recorded yet: clean bail
        t.pointee.mm.pgd = newPgd
        mm_task_kernel_pages(t)![Int(undo.kp0)] = newPgd
    }

    let pud = walkLevel(&undo, t.pointee.mm.pgd, Paging.pgdShift, uva)
    if pud == 0 { return -1 }
    let pmd = walkLevel(&undo, pud, Paging.pudShift, uva)
    if pmd == 0 { return -1 }
    let pte = walkLevel(&undo, pmd, Paging.pmdShift, uva)
    if pte == 0 { return -1 }

    map_table_entry(tableAt(pte), uva, physPage, flags)
    perform(.publishDescriptors)
    mm_task_user_pages(t)![Int(upCount)] = mm_user_page(pa: physPage, uva: uva, flags: flags)
    return 0
}

/// Allocates a page and maps it at `uva` in `t` with `flags`. Returns the
/// page's kernel-virtual address, or 0 on failure (the page is then freed
/// again: the pool ends where it started). If `uva` is mapped already, the
/// new page goes back and the existing page's KVA is returned.
@inline(never) @_silgen_name("allocate_user_page")
public func allocate_user_page(_ t: UnsafeMutablePointer<mm_task>, _ uva: UInt64, _ flags: UInt64) -> UInt64 {
    let physPage = get_free_page()
    if physPage == 0 { return 0 }
    let status = map_page(t, uva, physPage, flags)
    if status == 0 { return paToKva(physPage) }
    free_page(physPage)
    if status == mapPageAlreadyMapped, let leaf = lookup_pte_slot(t, uva) {
        return paToKva(leaf.pointee & Paging.descriptorAddressMask)
    }
    return 0
}

/// Clones the current task's user pages into `dst` (same UVA, same per-page
/// flags, contents copied through the current TTBR0) and inherits mm.brk.
/// Returns 0, or -1 on the first page that cannot be allocated or mapped.
@inline(never) @_silgen_name("copy_virt_memory")
public func copy_virt_memory(_ dst: UnsafeMutablePointer<mm_task>) -> Int32 {
    guard let current = mm_current_task() else { return -1 }
    let pages = mm_task_user_pages(current)!
    for i in 0..<Int(MM_MAX_PAGE_COUNT) {
        let up = pages[i]
        if up.pa == 0 { continue }
        let kva = allocate_user_page(dst, up.uva, up.flags)
        if kva == 0 { return -1 }
        UnsafeMutableRawPointer(bitPattern: UInt(kva))!
            .copyMemory(from: UnsafeRawPointer(bitPattern: UInt(up.uva))!, byteCount: Int(Paging.pageSize))
        // The copy went through the D-side; the child will fetch it as instructions.
        if up.flags & MM_TD_UXN == 0 { perform(.syncInstructionCache(kva: kva, length: Paging.pageSize)) }
    }
    dst.pointee.mm.brk = current.pointee.mm.brk
    return 0
}

/// The level-3 descriptor slot for `uva` if pgd, pud, pmd and pte tables
/// all exist, else nil. Never allocates.
public func lookup_pte_slot(_ t: UnsafeMutablePointer<mm_task>, _ uva: UInt64) -> UnsafeMutablePointer<UInt64>? {
    let pgd = t.pointee.mm.pgd
    if pgd == 0 { return nil }
    guard let pud = existingNextTable(pgd, Paging.pgdShift, uva),
          let pmd = existingNextTable(pud, Paging.pudShift, uva),
          let pte = existingNextTable(pmd, Paging.pmdShift, uva) else { return nil }
    return tableAt(pte) + Paging.index(uva, shift: Paging.pageShift)
}

/// PA of the table the descriptor for `uva` in table `tablePA` points to,
/// or nil if that descriptor is empty.
private func existingNextTable(_ tablePA: UInt64, _ shift: UInt64, _ uva: UInt64) -> UInt64? {
    let entry = tableAt(tablePA)[Paging.index(uva, shift: shift)]
    return entry == 0 ? nil : entry & Paging.pageMask
}

/// Frees every user page of `t` in [startUVA, endUVA): clears its PTE,
/// invalidates the VA's TLB entries (break before the page is reused),
/// frees the page and empties its user_pages slot. Table pages stay (they
/// map the rest of the space). sys_brk's shrink path uses this.
@inline(never) @_silgen_name("unmap_user_range")
public func unmap_user_range(_ t: UnsafeMutablePointer<mm_task>, _ startUVA: UInt64, _ endUVA: UInt64) {
    if startUVA >= endUVA { return }
    let pages = mm_task_user_pages(t)!
    for i in 0..<Int(MM_MAX_PAGE_COUNT) {
        let up = pages[i]
        guard up.pa != 0, up.uva >= startUVA, up.uva < endUVA else { continue }
        #if !MUTANT_NO_PTE_CLEAR // fault-injection mutant: the stale-PTE bug
        if let pte = lookup_pte_slot(t, up.uva) { pte.pointee = 0 }
        perform(.invalidateUserPage(va: up.uva))
        #endif
        free_page(up.pa)
        pages[i] = mm_user_page()
    }
}

/// The ASID of `t`'s address space (TTBR0.ASID; 8-bit ASIDs, TCR_EL1.AS = 0):
/// its slot in mm_tasks, so live address spaces never share one. Slot 0
/// (idle) and tasks outside the table (the boot self-test's scratch tasks,
/// which flush the whole TLB on every TTBR0 write) use ASID 0. User leaves
/// are non-global (nG), kernel leaves global.
public func addressSpaceID(of t: UnsafeMutablePointer<mm_task>) -> UInt64 {
    let slot = mm_task_table().distance(to: t)
    return slot >= 0 && slot < Int(MM_NR_TASKS) ? UInt64(slot) : 0
}

/// The TTBR0 value that runs `t`: its pgd (or the empty table) with its ASID.
public func userTTBR0(of t: UnsafeMutablePointer<mm_task>, emptyTable: UInt64) -> UInt64 {
    let pgd = t.pointee.mm.pgd
    return (pgd != 0 ? pgd : emptyTable) | addressSpaceID(of: t) << 48
}

/// Frees everything `t`'s address space owns (user pages, then every table
/// page, pgd included) and clears the bookkeeping: the reaper's half of
/// map_page. Not in the reference module, which leaves it to do_wait.
/// First it invalidates the ASID: with ASIDs a switch no longer flushes
/// the TLB, so entries of this space would otherwise outlive its pages and
/// reach the next task given the slot.
public func release_task_memory(_ t: UnsafeMutablePointer<mm_task>) {
    if t.pointee.mm.pgd != 0 { perform(.invalidateAddressSpace(asid: addressSpaceID(of: t))) }
    let users = mm_task_user_pages(t)!
    let tables = mm_task_kernel_pages(t)!
    for i in 0..<Int(MM_MAX_PAGE_COUNT) {
        if users[i].pa != 0 { free_page(users[i].pa) }
        users[i] = mm_user_page()
        if tables[i] != 0 { free_page(tables[i]) }
        tables[i] = 0
    }
    t.pointee.mm.pgd = 0
}
