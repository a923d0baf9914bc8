import UserRuntime

/// Heap (brk), demand paging, the soft path for bad syscall pointers, and
/// memory exhaustion. Bodies return 0 on success or the number of the step
/// that failed.
enum MemoryScenarios {
    private static let page = UserMemory.pageSize

    /// brk grow → shrink → regrow: the regrown page must be a fresh zero page
    /// (a stale PTE would still show the old contents or another task's
    /// page), and while shrunk the page must not be reachable at all.
    static func brkGrowShrinkRegrow() -> Int64 {
        let base = UserMemory.currentBreak
        guard base >= UInt64(MM_HEAP_BASE) else { return 1 }
        guard UserMemory.setBreak(base + 2 * page) else { return 2 }
        UserMemory.store(0x1111_1111, at: base)
        UserMemory.store(0x2222_2222, at: base + page)
        guard UserMemory.setBreak(base + page) else { return 3 }
        // While shrunk, the freed page lies above the break: a load from it
        // must kill the task (a stale PTE would let it read the old value).
        guard Child.isKilledByFault({ Int64(bitPattern: UserMemory.load(base + page)) == 0x2222_2222 ? 1 : 0 }) else {
            return 4
        }
        guard UserMemory.setBreak(base + 2 * page) else { return 5 }
        guard UserMemory.load(base + page) == 0 else { return 6 }
        guard UserMemory.load(base) == 0x1111_1111 else { return 7 }
        guard UserMemory.setBreak(base) else { return 8 }
        // A break below the heap or into the stack is refused.
        guard mm_sys_brk(UInt64(MM_HEAP_BASE) - page) == -1 else { return 9 }
        guard mm_sys_brk(UInt64(MM_STACK_GUARD_LOW) + page) == -1 else { return 10 }
        return 0
    }

    /// Heap pages appear on first touch (the free-page count drops) and hold
    /// what was written; so do stack pages below the initial one.
    static func heapAndStackDemandPaging() -> Int64 {
        let pages: UInt64 = 4
        let freeBefore = mm_sys_free_pages()
        let base = UserMemory.currentBreak
        guard UserMemory.setBreak(base + pages * page) else { return 1 }
        guard mm_sys_free_pages() == freeBefore else { return 2 }  // brk alone maps nothing
        for i in 0..<pages { UserMemory.store(0xC0DE_0000 + i, at: base + i * page + 8) }
        for i in 0..<pages where UserMemory.load(base + i * page + 8) != 0xC0DE_0000 + i { return 3 }
        guard freeBefore - mm_sys_free_pages() >= Int64(pages) else { return 4 }
        guard user_touch_stack_pages(6) == 0 else { return 5 }
        return 0
    }

    /// write() from a wild pointer returns -1 and the task lives on; so do
    /// wait() into one or into read-only text, and a write() straddling the
    /// end of a valid range.
    static func syscallWithWildPointer() -> Int64 {
        let wild = UnsafeRawPointer(bitPattern: UInt(0xDEAD_BEEF_000))
        guard mm_sys_write(1, wild, 16) == -1 else { return 1 }
        let guardPage = UnsafeRawPointer(bitPattern: UInt(MM_STACK_GUARD_LOW))
        guard mm_sys_write(1, guardPage, 8) == -1 else { return 2 }
        guard mm_sys_write(1, UnsafeRawPointer(bitPattern: UInt(MM_STACK_TOP) - 4), 8) == -1 else { return 3 }
        let pid = mm_sys_fork()
        if pid == 0 { mm_sys_exit(7) }
        let wildStatus = UnsafeMutablePointer<Int64>(bitPattern: UInt(0xDEAD_BEEF_000))
        guard mm_sys_wait(wildStatus) == -1 else { return 4 }
        // Mapped but read-only: the kernel's store would fault at EL1.
        let textStatus = UnsafeMutablePointer<Int64>(bitPattern: UInt(MM_TEXT_BASE))
        guard mm_sys_wait(textStatus) == -1 else { return 7 }
        guard Child.waitFor(pid) == 7 else { return 5 }
        guard mm_syscall3(999, 0, 0, 0) == -1 else { return 6 }
        Line("[USER] wild-pointer syscalls returned -1; task lives").emit()
        return 0
    }

    /// Runs the real page pool dry (pool_limit test hook): fork must then
    /// fail cleanly (copy_process rolls back), a child touching fresh heap
    /// pages must die with `[KERN] OOM`, and once the limit is lifted fork
    /// works again: the rest of the system lives.
    static func exhaustThePool() -> Int64 {
        _ = mm_sys_pool_limit(2)
        let forkedWhileDry = mm_sys_fork()
        if forkedWhileDry == 0 { mm_sys_exit(0) }
        _ = mm_sys_pool_limit(0)
        guard forkedWhileDry == -1 else { return 1 }
        let status = Child.run {
            let base = UserMemory.currentBreak
            guard UserMemory.setBreak(base + 32 * UserMemory.pageSize) else { return 2 }
            _ = mm_sys_pool_limit(4)
            for i in 0..<UInt64(32) { UserMemory.store(i, at: base + i * UserMemory.pageSize) }
            return 3
        }
        _ = mm_sys_pool_limit(0)
        guard status == Int64(MM_EXIT_FAULT) else { return status ?? 4 }
        guard Child.run({ 0 }) == 0 else { return 5 }
        return 0
    }

    /// Grows the heap far beyond what the task may map and touches it page
    /// by page: the kernel must print `[KERN] OOM` and kill only this task.
    static func exhaustMemory() -> Int64 {
        let pages: UInt64 = 4096
        let base = UserMemory.currentBreak
        guard UserMemory.setBreak(base + pages * page) else { return 2 }
        for i in 0..<pages { UserMemory.store(i, at: base + i * page) }
        return 1
    }
}
