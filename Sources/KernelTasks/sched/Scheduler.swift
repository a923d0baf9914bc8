#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// Picks the next task (KernelCore's RunQueue decides) and switches to it:
/// TTBR0 to its address space, then cpu_switch_to. The kernel itself is
/// not preemptible: IRQs stay masked at EL1 except in the idle loop, so
/// preemption happens only on a timer IRQ taken from EL0 (or idle).
///
/// SMP: one run queue (the task table) and one kernel lock (mm_kernel_lock)
/// for everything EL1 does, held from exception entry to exception return
/// and across cpu_switch_to, so a task switched out on one CPU is picked by
/// another only once its context is saved (docs/kernel-tasks.md).
enum Scheduler {
    /// Gives the CPU to the next runnable task; returns when the caller is
    /// scheduled again (immediately if it is still the best choice). A
    /// caller that is no longer runnable (sleeping, waiting, zombie) stays
    /// off the CPU until something makes it runnable. Kernel lock held.
    static func schedule() {
        let previousSlot = TaskTable.currentSlot
        let previous = TaskTable.current
        // Idle too: a debugger must see exactly one RUNNING task per CPU, its
        // current one. Idle tasks are never picked from the run queue (pid 0),
        // so RUNNABLE is only what they show while another task runs.
        if previous.pointee.state == Int64(MM_TASK_RUNNING) {
            previous.pointee.state = Int64(MM_TASK_RUNNABLE)
        }
        let cpu = mm_this_cpu()!
        let picked = RunQueue.pick(after: previousSlot, in: UnsafeBufferPointer(TaskTable.tasks))
        let next = picked == 0 ? UnsafeMutablePointer<mm_task>(bitPattern: UInt(cpu.pointee.idle))! : TaskTable.task(picked)
        next.pointee.state = Int64(MM_TASK_RUNNING)
        cpu.pointee.state = Int64(picked == 0 ? MM_CPU_IDLE : MM_CPU_BUSY)
        if next == previous { return }
        mm_set_current_task(next)
        switchAddressSpace(to: next)
        cpu_switch_to(previous, next)
    }

    /// TTBR0 := the task's pgd (the empty table for idle or a task without
    /// one) tagged with its ASID (its slot; see addressSpaceID). No TLB
    /// flush: user leaves are non-global, so entries of other address
    /// spaces stay valid and unused; release_task_memory invalidates an
    /// ASID (broadcast) before its pages are freed and its slot is reused.
    static func switchAddressSpace(to t: UnsafeMutablePointer<mm_task>) {
        mm_set_ttbr0(userTTBR0(of: t, emptyTable: mm_empty_user_pgd_pa()))
    }

    /// Timer interrupt, first half (before the GIC's end of interrupt):
    /// count the tick on this CPU; the boot CPU's tick is the kernel clock
    /// (mm_tick) and wakes sleepers whose time has come.
    static func timerTick() {
        Timer.tick()
        if mm_this_cpu() == mm_cpu_at(0) {
            RunQueue.wakeSleepers(in: TaskTable.tasks, now: mm_tick)
        }
    }

    /// Timer interrupt, second half (after the end of interrupt, since it
    /// may switch away): charge the tick to the running task and preempt
    /// it when its slice is used up and someone else can run. Idle is left
    /// alone: its loop schedules after every interrupt.
    static func preemptIfSliceUsedUp() {
        #if MUTANT_NO_PREEMPTION
        // Fault-injection mutant: a cooperative-only kernel (the "preempt"
        // scenario must catch it).
        #else
        let slot = TaskTable.currentSlot
        if TaskTable.isIdle(TaskTable.current) { return }
        if RunQueue.chargeTick(&TaskTable.current.pointee)
            && RunQueue.hasOtherWaiting(than: slot, in: UnsafeBufferPointer(TaskTable.tasks)) {
            schedule()
        }
        #endif
    }

    /// Before the kernel lock is dropped: if a task waits for a CPU and
    /// another CPU sits idle, send it a reschedule IPI (SGI 0) so it does
    /// not wait for its next tick. Nothing to do on one CPU.
    static func kickIdleCPU() {
        let count = Int(mm_cpu_count)
        if count < 2 { return }
        let tasks = UnsafeBufferPointer(TaskTable.tasks)
        var waiting = false
        for slot in 1..<tasks.count where tasks[slot].state == Int64(MM_TASK_RUNNABLE) && tasks[slot].pid != 0 {
            waiting = true
            break
        }
        if !waiting { return }
        let me = mm_this_cpu()
        for index in 0..<count {
            let cpu = mm_cpu_at(UInt32(index))!
            if cpu != me && cpu.pointee.state == Int64(MM_CPU_IDLE) {
                GIC.sendReschedule(toCPU: UInt32(index))
                return
            }
        }
    }

    /// Each CPU's idle task's loop: run whatever is runnable, otherwise wait
    /// for the next interrupt with the kernel lock dropped. Entered with the
    /// lock held; never returns (init's exit powers off).
    static func idleLoop() -> Never {
        while true {
            schedule()
            kickIdleCPU()
            mm_kernel_unlock()
            mm_wait_for_interrupt()
            mm_kernel_lock()
        }
    }
}
#endif
