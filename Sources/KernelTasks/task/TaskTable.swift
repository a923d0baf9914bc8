#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// The task table `mm_tasks[]` (C, debugger-visible) and each CPU's current
/// task (`mm_cpus[i].current`; the boot CPU's is also `mm_current`).
/// Slot 0 is the boot CPU's idle task: the boot context, pid 0, never on the
/// run queue. Every other CPU's idle task takes the next free slot when the
/// CPU starts (pid 0 too, so also never on the run queue). User tasks get
/// pids from 1 (init) upwards, never reused.
enum TaskTable {
    static let count = Int(MM_NR_TASKS)
    static let initPid: Int64 = 1
    private static var nextPid: Int64 = 1

    static var tasks: UnsafeMutableBufferPointer<mm_task> {
        UnsafeMutableBufferPointer(start: mm_task_table(), count: count)
    }

    static func task(_ slot: Int) -> UnsafeMutablePointer<mm_task> { mm_task_table() + slot }

    static var current: UnsafeMutablePointer<mm_task> { mm_current_task()! }

    static var currentSlot: Int { mm_task_table().distance(to: current) }

    /// Makes the boot context the idle task and the current one.
    static func adoptIdle() {
        let idle = task(0)
        idle.pointee = mm_task()
        idle.pointee.state = Int64(MM_TASK_RUNNING)
        idle.pointee.pid = 0
        idle.pointee.kernel_stack = mm_boot_stack_base()
        setName(idle, "idle")
        mm_set_current_task(idle)
        mm_this_cpu().pointee.idle = UInt64(UInt(bitPattern: idle))
    }

    /// A free slot made the idle task of a CPU about to start: pid 0,
    /// RUNNING (it is that CPU's current task from its first instruction in
    /// Swift), its slot's kernel stack. Nil when the table is full.
    static func allocateIdle(name: StaticString) -> UnsafeMutablePointer<mm_task>? {
        for slot in 1..<count where tasks[slot].state == Int64(MM_TASK_FREE) {
            let t = task(slot)
            t.pointee = mm_task()
            t.pointee.state = Int64(MM_TASK_RUNNING)
            t.pointee.pid = 0
            t.pointee.kernel_stack = mm_task_kernel_stack_base(UInt32(slot))
            setName(t, name)
            return t
        }
        return nil
    }

    /// True for every CPU's idle task.
    static func isIdle(_ t: UnsafeMutablePointer<mm_task>) -> Bool { t.pointee.pid == 0 }

    /// A free slot made ready to become a new task (pid assigned, kernel
    /// stack and trap frame set, state still FREE), or nil if the table is full.
    static func allocate(parentPid: Int64) -> UnsafeMutablePointer<mm_task>? {
        for slot in 1..<count where tasks[slot].state == Int64(MM_TASK_FREE) {
            let t = task(slot)
            t.pointee = mm_task()
            t.pointee.pid = nextPid
            nextPid += 1
            t.pointee.parent_pid = parentPid
            t.pointee.counter = Int64(MM_TIME_SLICE_TICKS)
            t.pointee.kernel_stack = mm_task_kernel_stack_base(UInt32(slot))
            let stackTop = t.pointee.kernel_stack + UInt64(MM_KERNEL_STACK_SIZE)
            t.pointee.trap_frame = stackTop - UInt64(MemoryLayout<mm_trap_frame>.size)
            // The first switch to the task "returns" into ret_from_fork with
            // sp at its trap frame, which then erets to EL0.
            t.pointee.context.pc = mm_ret_from_fork_address()
            t.pointee.context.sp = t.pointee.trap_frame
            return t
        }
        return nil
    }

    static func trapFrame(_ t: UnsafeMutablePointer<mm_task>) -> UnsafeMutablePointer<mm_trap_frame> {
        UnsafeMutablePointer(bitPattern: UInt(t.pointee.trap_frame))!
    }

    static func setName(_ t: UnsafeMutablePointer<mm_task>, _ name: StaticString) {
        withUnsafeMutableBytes(of: &t.pointee.name) { bytes in
            for i in 0..<bytes.count { bytes[i] = 0 }
            name.withUTF8Buffer { for (i, b) in $0.enumerated() where i < bytes.count - 1 { bytes[i] = b } }
        }
    }
}
#endif
