#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// Picks the next task (KernelCore's RunQueue decides) and switches to it:
/// TTBR0 to its address space, then cpu_switch_to. The kernel itself is
/// not preemptible: IRQs stay masked at EL1 except in the idle loop, so
/// preemption happens only on a timer IRQ taken from EL0 (or idle).
enum Scheduler {
    /// Gives the CPU to the next runnable task; returns when the caller is
    /// scheduled again (immediately if it is still the best choice). A
    /// caller that is no longer runnable (sleeping, waiting, zombie) stays
    /// off the CPU until something makes it runnable.
    static func schedule() {
        let previousSlot = TaskTable.currentSlot
        let previous = TaskTable.current
        // Idle too: a debugger must see exactly one RUNNING task, the current
        // one. Idle is never picked from the run queue by its state (slot 0 is
        // the fallback), so RUNNABLE is only what it shows while another runs.
        if previous.pointee.state == Int64(MM_TASK_RUNNING) {
            previous.pointee.state = Int64(MM_TASK_RUNNABLE)
        }
        let nextSlot = RunQueue.next(after: previousSlot, in: UnsafeBufferPointer(TaskTable.tasks))
        let next = TaskTable.task(nextSlot)
        next.pointee.state = Int64(MM_TASK_RUNNING)
        if nextSlot == previousSlot { return }
        mm_current = next
        switchAddressSpace(to: next)
        cpu_switch_to(previous, next)
    }

    /// TTBR0 := the task's pgd (the empty table for idle or a task without
    /// one) tagged with its ASID (its slot; see addressSpaceID). No TLB
    /// flush: user leaves are non-global, so entries of other address
    /// spaces stay valid and unused; release_task_memory invalidates an
    /// ASID before its pages are freed and its slot is reused.
    static func switchAddressSpace(to t: UnsafeMutablePointer<mm_task>) {
        mm_set_ttbr0(userTTBR0(of: t, emptyTable: mm_empty_user_pgd_pa()))
    }

    /// Timer interrupt, first half (before the GIC's end of interrupt):
    /// count the tick and wake sleepers whose time has come.
    static func timerTick() {
        Timer.tick()
        RunQueue.wakeSleepers(in: TaskTable.tasks, now: mm_tick)
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
        if slot == 0 { return }
        if RunQueue.chargeTick(&TaskTable.current.pointee)
            && RunQueue.hasOtherRunnable(than: slot, in: UnsafeBufferPointer(TaskTable.tasks)) {
            schedule()
        }
        #endif
    }

    /// The idle task's loop: run whatever is runnable, otherwise wait for
    /// the next interrupt. Never returns (init's exit powers off).
    static func idleLoop() -> Never {
        while true {
            schedule()
            mm_wait_for_interrupt()
        }
    }
}
#endif
