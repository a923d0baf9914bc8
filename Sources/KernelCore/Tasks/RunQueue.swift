import KernelSupport

// Scheduling policy over the task table, kept pure (it only reads and
// writes mm_task fields) so the host tests drive it with a plain array.
// Slot 0 is the idle task (the boot context, pid 0): it runs only when no
// other task can.
//
// A task is on the run queue when its state is MM_TASK_RUNNABLE or
// MM_TASK_RUNNING. Round robin: the next candidate after the current slot,
// wrapping, so every runnable task gets a slice before any gets a second.

/// The scheduler's pure decisions.
public enum RunQueue {
    /// True if `task` may be picked to run.
    @inline(__always)
    public static func isRunnable(_ task: mm_task) -> Bool {
        task.state == Int64(MM_TASK_RUNNABLE) || task.state == Int64(MM_TASK_RUNNING)
    }

    /// The slot to run after `current`: the first runnable non-idle slot
    /// after it (wrapping around, `current` itself last), or 0 (idle) when
    /// no other task is runnable.
    public static func next(after current: Int, in tasks: UnsafeBufferPointer<mm_task>) -> Int {
        let count = tasks.count
        guard count > 1 else { return 0 }
        var slot = current
        for _ in 0..<count {
            slot = slot + 1 == count ? 1 : slot + 1
            if slot != 0 && isRunnable(tasks[slot]) { return slot }
        }
        return 0
    }

    /// The SMP pick (what the scheduler uses): like `next`, but a task
    /// RUNNING on another CPU is not a candidate (only `current` itself may
    /// be RUNNING), and every CPU's idle task (`isIdle`, pid 0) is skipped.
    /// 0 means "this CPU's idle task". On one CPU it picks what `next` picks:
    /// the scheduler demotes the current task to RUNNABLE first, so no other
    /// slot is RUNNING there.
    public static func pick(after current: Int, in tasks: UnsafeBufferPointer<mm_task>,
                            isIdle: (mm_task) -> Bool = { $0.pid == 0 }) -> Int {
        let count = tasks.count
        guard count > 1 else { return 0 }
        var slot = current
        for _ in 0..<count {
            slot = slot + 1 == count ? 1 : slot + 1
            let task = tasks[slot]
            if slot == 0 || isIdle(task) { continue }
            if task.state == Int64(MM_TASK_RUNNABLE) || (slot == current && task.state == Int64(MM_TASK_RUNNING)) {
                return slot
            }
        }
        return 0
    }

    /// `hasOtherRunnable` for `pick`: some non-idle task other than `current`
    /// waits (RUNNABLE) for a CPU.
    public static func hasOtherWaiting(than current: Int, in tasks: UnsafeBufferPointer<mm_task>,
                                       isIdle: (mm_task) -> Bool = { $0.pid == 0 }) -> Bool {
        let candidate = pick(after: current, in: tasks, isIdle: isIdle)
        return candidate != 0 && candidate != current
    }

    /// Makes every sleeper whose wake tick has come runnable again.
    /// Returns how many woke.
    @discardableResult
    public static func wakeSleepers(in tasks: UnsafeMutableBufferPointer<mm_task>, now: UInt64) -> Int {
        var woken = 0
        for slot in 1..<tasks.count where tasks[slot].state == Int64(MM_TASK_SLEEPING) && tasks[slot].wake_tick <= now {
            tasks[slot].state = Int64(MM_TASK_RUNNABLE)
            woken += 1
        }
        return woken
    }

    /// Charges one timer tick to the running task. True when its slice is
    /// used up (it should be preempted); the slice is then refilled.
    public static func chargeTick(_ task: inout mm_task) -> Bool {
        task.counter -= 1
        if task.counter > 0 { return false }
        task.counter = Int64(MM_TIME_SLICE_TICKS)
        return true
    }

    /// True if some non-idle task other than `current` is runnable, i.e.
    /// whether a tick should take the CPU away from `current`.
    public static func hasOtherRunnable(than current: Int, in tasks: UnsafeBufferPointer<mm_task>) -> Bool {
        let candidate = next(after: current, in: tasks)
        return candidate != 0 && candidate != current
    }
}
