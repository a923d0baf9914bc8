#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// Exercises the user-space mm operations on the real MMU before any task
/// exists: a scratch task gets pages mapped, written through its own TTBR0
/// (copy_to_user demand-pages the heap), cloned (copy_virt_memory),
/// unmapped and released; the pool must end where it started.
///
/// A failure prints "[BOOT] mm self-test FAILED: <what>" and boot goes on:
/// fault-injection mutants (MUTANT_*) must still boot so their scenarios
/// can show the bug.
func runMemorySelfTest() {
    let before = mm_pool.free_pages
    let savedTTBR0 = mm_read_ttbr0()
    let savedCurrent = mm_current_task()
    var parent = mm_task(), child = mm_task()
    var failure: StaticString? = nil
    withUnsafeMutablePointer(to: &parent) { parent in
        withUnsafeMutablePointer(to: &child) { child in
            failure = exerciseScratchTasks(parent, child)
            mm_write_ttbr0(savedTTBR0) // before the tables it may point at are freed
            release_task_memory(child)
            release_task_memory(parent)
        }
    }
    mm_set_current_task(savedCurrent)
    if failure == nil && mm_pool.free_pages != before { failure = "pages leaked" }
    if let failure {
        Console.write("[BOOT] mm self-test FAILED: ")
        Console.write(failure)
        Console.write("\n")
        return
    }
    Console.write(cString: mm_text_boot_mm_self_test())
    Console.write("map, copy_to_user, copy_from_user, fork copy, unmap; free pages ")
    Console.writeDecimal(mm_pool.free_pages)
    Console.write("\n")
}

/// The checks; the first failure's description, or nil.
private func exerciseScratchTasks(_ parent: UnsafeMutablePointer<mm_task>,
                                  _ child: UnsafeMutablePointer<mm_task>) -> StaticString? {
    parent.pointee.mm.brk = MM_HEAP_BASE + 2 * Paging.pageSize
    mm_set_current_task(parent)
    let stackPage = MM_STACK_TOP - Paging.pageSize
    if allocate_user_page(parent, stackPage, MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_USER_XN) == 0 {
        return "allocate_user_page failed"
    }
    mm_write_ttbr0(parent.pointee.mm.pgd)

    var message: (UInt64, UInt64, UInt64) = (0x6d6d_6462_6720_6d6d, MM_PAGE_POISON ^ 1, MM_HEAP_BASE)
    var back: (UInt64, UInt64, UInt64) = (0, 0, 0)
    let heapUVA = MM_HEAP_BASE + Paging.pageSize - 8 // straddles both heap pages
    let copiedOut = withUnsafeBytes(of: &message) { copy_to_user(heapUVA, $0.baseAddress!, 24) }
    if copiedOut != 0 { return "copy_to_user failed" }
    let copiedIn = withUnsafeMutableBytes(of: &back) { copy_from_user($0.baseAddress!, heapUVA, 24) }
    if copiedIn != 0 || back != message { return "copy_from_user read back differs" }
    if copy_to_user(0xDEAD_BEEF_000, &back, 8) != -1 { return "wild user pointer accepted" }

    if copy_virt_memory(child) != 0 || task_up_count(child) != 3 { return "copy_virt_memory failed" }
    mm_write_ttbr0(child.pointee.mm.pgd)
    back = (0, 0, 0)
    let childCopy = withUnsafeMutableBytes(of: &back) { copy_from_user($0.baseAddress!, heapUVA, 24) }
    if childCopy != 0 || back != message { return "the fork copy does not hold the parent's data" }

    unmap_user_range(parent, MM_HEAP_BASE, MM_HEAP_BASE + 2 * Paging.pageSize)
    if let pte = lookup_pte_slot(parent, MM_HEAP_BASE), pte.pointee != 0 { return "stale PTE after unmap_user_range" }
    if task_up_count(parent) != 1 { return "unmap_user_range left heap pages" }
    return nil
}
#endif
