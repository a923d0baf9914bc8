#if hasFeature(Embedded)
import KernelSupport
import KernelCore

// The system calls, one plain symbol each (sys_<name>) so a debugger can
// break on them or force a return value. User memory is only touched
// through the soft path (copy_from_user / copy_to_user): a bad pointer is
// a -1 for the caller, never a fault that kills it.

/// write(fd, buf, len): fd 1 and 2 go to the console. Returns len, or -1
/// for another fd or any byte of [buf, buf+len) that is not valid user memory.
@inline(never) @_silgen_name("sys_write")
func sys_write(_ fd: Int64, _ buffer: UInt64, _ length: UInt64) -> Int64 {
    guard fd == 1 || fd == 2 else { return -1 }
    // Check the whole range first so a bad tail prints nothing.
    guard check_and_prefault_user_range(buffer, length) == 0 else { return -1 }
    let bounce = mm_syscall_bounce()!
    var done: UInt64 = 0
    while done < length {
        let chunk = min(length - done, UInt64(MM_SYSCALL_BOUNCE_SIZE))
        guard copy_from_user(bounce, buffer + done, chunk) == 0 else { return -1 }
        for i in 0..<Int(chunk) { Console.put(bounce[i]) }
        done += chunk
    }
    return Int64(bitPattern: length)
}

@inline(never) @_silgen_name("sys_getpid")
func sys_getpid() -> Int64 { TaskTable.current.pointee.pid }

@inline(never) @_silgen_name("sys_fork")
func sys_fork() -> Int64 { ProcessLifecycle.fork() }

@inline(never) @_silgen_name("sys_exit")
func sys_exit(_ code: Int64) -> Never { ProcessLifecycle.exitCurrent(code: code) }

/// wait(status): reaps a zombie child (freeing its pages and tables),
/// storing its exit code at `status` unless it is 0. Returns the child's
/// pid; -1 when there are no children or `status` is not writable user
/// memory (checked before anything is reaped, so no exit code is lost).
@inline(never) @_silgen_name("sys_wait")
func sys_wait(_ status: UInt64) -> Int64 {
    let size = UInt64(MemoryLayout<Int64>.size)
    if status != 0 && check_user_range_writable(status, size) < 0 { return -1 }
    guard let (pid, code) = ProcessLifecycle.waitForChild() else { return -1 }
    if status != 0 {
        var value = code
        _ = copy_to_user(status, &value, size)
    }
    return pid
}

/// brk(addr): 0 asks for the current break. Growing only moves the break
/// (pages come on first touch); shrinking unmaps and frees the pages above
/// the new break and flushes the TLB, so a regrow starts from fresh zero
/// pages. The heap may not start below HEAP_BASE or reach the stack guard.
@inline(never) @_silgen_name("sys_brk")
func sys_brk(_ address: UInt64) -> Int64 {
    let t = TaskTable.current
    let old = t.pointee.mm.brk
    if address == 0 { return Int64(bitPattern: old) }
    guard address >= MM_HEAP_BASE, address <= MM_STACK_GUARD_LOW else { return -1 }
    if address < old {
        let pageEnd = { (uva: UInt64) in (uva + MM_PAGE_SIZE - 1) & MM_PAGE_MASK }
        // unmap_user_range invalidates each page it clears (broadcast, every CPU): no full flush.
        unmap_user_range(t, pageEnd(address), pageEnd(old))
    }
    t.pointee.mm.brk = address
    return Int64(bitPattern: address)
}

@inline(never) @_silgen_name("sys_yield")
func sys_yield() -> Int64 {
    Scheduler.schedule()
    return 0
}

/// sleep(ticks): not runnable until `ticks` timer ticks have passed.
@inline(never) @_silgen_name("sys_sleep")
func sys_sleep(_ ticks: UInt64) -> Int64 {
    let t = TaskTable.current
    if ticks > 0 {
        t.pointee.wake_tick = mm_tick &+ ticks
        t.pointee.state = Int64(MM_TASK_SLEEPING)
    }
    Scheduler.schedule()
    return 0
}

/// The pool's free-page count: what init compares before and after the
/// scenarios to prove that reaping returned every page.
@inline(never) @_silgen_name("sys_free_pages")
func sys_free_pages() -> Int64 { Int64(bitPattern: mm_pool.free_pages) }

/// pool_limit(n): the allocator's test hook (mm_pool.limit) from EL0, so
/// the oompool scenario exhausts the real pool. n = 0 lifts the limit.
@inline(never) @_silgen_name("sys_pool_limit")
func sys_pool_limit(_ pages: UInt64) -> Int64 {
    let inUse = mm_pool.page_count &- mm_pool.free_pages
    mm_pool.limit = pages == 0 ? 0 : inUse &+ pages
    return 0
}
#endif
