#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// Exercises the user-space mm operations on the real MMU before any task
/// exists: a scratch task gets pages mapped, written through its own TTBR0
/// (copy_to_user demand-pages the heap), cloned (copy_virt_memory),
/// unmapped and released; the pool must end where it started.
func runMemorySelfTest() {
    let before = mm_pool.free_pages
    let savedTTBR0 = mm_read_ttbr0()
    let savedCurrent = mm_current
    var parent = mm_task(), child = mm_task()
    withUnsafeMutablePointer(to: &parent) { parent in
        withUnsafeMutablePointer(to: &child) { child in
            runScratchTasks(parent, child, restoringTTBR0: savedTTBR0)
        }
    }
    mm_current = savedCurrent
    if mm_pool.free_pages != before { kernelPanic("mm self-test leaked pages") }
    Console.write(cString: mm_text_boot_mm_self_test())
    Console.write("map, copy_to_user, copy_from_user, fork copy, unmap; free pages ")
    Console.writeDecimal(mm_pool.free_pages)
    Console.write("\n")
}

private func runScratchTasks(_ parent: UnsafeMutablePointer<mm_task>, _ child: UnsafeMutablePointer<mm_task>,
                             restoringTTBR0 savedTTBR0: UInt64) {
    parent.pointee.mm.brk = MM_HEAP_BASE + 2 * Paging.pageSize
    mm_current = parent
    let stackPage = MM_STACK_TOP - Paging.pageSize
    if allocate_user_page(parent, stackPage, MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_USER_XN) == 0 {
        kernelPanic("mm self-test: allocate_user_page failed")
    }
    mm_write_ttbr0(parent.pointee.mm.pgd)

    var message: (UInt64, UInt64, UInt64) = (0x6d6d_6462_6720_6d6d, MM_PAGE_POISON ^ 1, MM_HEAP_BASE)
    var back: (UInt64, UInt64, UInt64) = (0, 0, 0)
    let heapUVA = MM_HEAP_BASE + Paging.pageSize - 8 // straddles both heap pages
    withUnsafeBytes(of: &message) { source in
        if copy_to_user(heapUVA, source.baseAddress!, 24) != 0 { kernelPanic("mm self-test: copy_to_user failed") }
    }
    withUnsafeMutableBytes(of: &back) { target in
        if copy_from_user(target.baseAddress!, heapUVA, 24) != 0 { kernelPanic("mm self-test: copy_from_user failed") }
    }
    if back != message { kernelPanic("mm self-test: user copy read back differs") }
    if copy_to_user(0xDEAD_BEEF_000, &back, 8) != -1 { kernelPanic("mm self-test: wild pointer accepted") }

    if copy_virt_memory(child) != 0 || task_up_count(child) != 3 { kernelPanic("mm self-test: copy_virt_memory failed") }
    mm_write_ttbr0(child.pointee.mm.pgd)
    back = (0, 0, 0)
    withUnsafeMutableBytes(of: &back) { target in
        _ = copy_from_user(target.baseAddress!, heapUVA, 24) // same UVA, the child's pages
    }
    if back != message { kernelPanic("mm self-test: child does not see the parent's data") }

    unmap_user_range(parent, MM_HEAP_BASE, MM_HEAP_BASE + 2 * Paging.pageSize)
    if let pte = lookup_pte_slot(parent, MM_HEAP_BASE), pte.pointee != 0 { kernelPanic("mm self-test: stale PTE after unmap") }
    mm_write_ttbr0(savedTTBR0) // before the tables it points at are freed
    release_task_memory(child)
    release_task_memory(parent)
}
#endif
