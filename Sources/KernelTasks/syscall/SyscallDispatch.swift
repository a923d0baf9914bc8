#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// `svc #0` from EL0: number in x8, arguments in x0-x2, result to x0
/// (mm_syscalls.h). An unknown number returns -1.
enum SyscallDispatch {
    static func handle(_ frame: UnsafeMutablePointer<mm_trap_frame>) {
        let number = frame.pointee.x.8
        let a0 = frame.pointee.x.0, a1 = frame.pointee.x.1, a2 = frame.pointee.x.2
        let result: Int64
        switch Int32(truncatingIfNeeded: number) {
        case _ where number >= UInt64(MM_SYS_COUNT): result = -1
        case MM_SYS_WRITE: result = sys_write(Int64(bitPattern: a0), a1, a2)
        case MM_SYS_GETPID: result = sys_getpid()
        case MM_SYS_FORK: result = sys_fork()
        case MM_SYS_EXIT: sys_exit(Int64(bitPattern: a0))
        case MM_SYS_WAIT: result = sys_wait(a0)
        case MM_SYS_BRK: result = sys_brk(a0)
        case MM_SYS_YIELD: result = sys_yield()
        case MM_SYS_SLEEP: result = sys_sleep(a0)
        case MM_SYS_FREE_PAGES: result = sys_free_pages()
        case MM_SYS_POOL_LIMIT: result = sys_pool_limit(a0)
        case MM_SYS_CPUS: result = Int64(mm_cpu_count)
        default: result = -1
        }
        // The frame is the caller's own (fork's child got a copy), and after
        // a blocking call the task is current again: write the result back.
        frame.pointee.x.0 = UInt64(bitPattern: result)
    }
}
#endif
