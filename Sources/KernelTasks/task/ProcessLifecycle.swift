#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// fork, exit and reaping. The functions a debugger breaks on or forces to
/// fail keep plain symbol names (`exit_process`, `copy_process`,
/// `reap_task`).
enum ProcessLifecycle {
    /// fork: a new task with a copy of the current one's address space
    /// (per-page flags and brk kept, copy_virt_memory) and of its trap
    /// frame, so it returns from the same svc with x0 = 0. Returns the
    /// child's pid, or -1 (table full or out of memory; nothing leaks).
    static func fork() -> Int64 {
        let parent = TaskTable.current
        guard let child = copy_process(parent) else { return -1 }
        child.pointee.state = Int64(MM_TASK_RUNNABLE)
        return child.pointee.pid
    }

    /// Ends the current task with `code`: it becomes a zombie holding its
    /// memory until its parent reaps it; its children pass to init. init's
    /// own exit ends the run: the kernel reports it and powers off.
    static func exitCurrent(code: Int64) -> Never {
        let t = TaskTable.current
        t.pointee.exit_code = code
        if t.pointee.pid == TaskTable.initPid { UserSpace.initExited(code: code) }
        t.pointee.state = Int64(MM_TASK_ZOMBIE)
        for slot in 1..<TaskTable.count {
            let other = TaskTable.task(slot)
            guard other.pointee.state != Int64(MM_TASK_FREE), other.pointee.parent_pid == t.pointee.pid else { continue }
            other.pointee.parent_pid = TaskTable.initPid
            if other.pointee.state == Int64(MM_TASK_ZOMBIE) { wakeIfWaiting(pid: TaskTable.initPid) }
        }
        wakeIfWaiting(pid: t.pointee.parent_pid)
        Scheduler.schedule()
        kernelPanic("exit_process: a zombie was scheduled again")
    }

    /// wait: reaps one zombie child of the current task, blocking while
    /// children exist but none has exited. Returns (pid, exit code), or nil
    /// when the task has no children at all.
    static func waitForChild() -> (pid: Int64, code: Int64)? {
        let me = TaskTable.current
        while true {
            var hasChildren = false
            for slot in 1..<TaskTable.count {
                let child = TaskTable.task(slot)
                guard child.pointee.state != Int64(MM_TASK_FREE), child.pointee.parent_pid == me.pointee.pid else { continue }
                hasChildren = true
                if child.pointee.state == Int64(MM_TASK_ZOMBIE) {
                    let result = (child.pointee.pid, child.pointee.exit_code)
                    reap_task(child)
                    return result
                }
            }
            if !hasChildren { return nil }
            me.pointee.state = Int64(MM_TASK_WAITING)
            Scheduler.schedule()
        }
    }

    private static func wakeIfWaiting(pid: Int64) {
        for slot in 1..<TaskTable.count where TaskTable.tasks[slot].pid == pid
            && TaskTable.tasks[slot].state == Int64(MM_TASK_WAITING) {
            TaskTable.tasks[slot].state = Int64(MM_TASK_RUNNABLE)
        }
    }
}

/// The kernel half of fork, out of line so a debugger can break on it or
/// force it to fail: a runnable-to-be copy of `parent`, or nil.
@inline(never) @_silgen_name("copy_process")
func copy_process(_ parent: UnsafeMutablePointer<mm_task>) -> UnsafeMutablePointer<mm_task>? {
    guard let child = TaskTable.allocate(parentPid: parent.pointee.pid) else { return nil }
    child.pointee.name = parent.pointee.name
    if copy_virt_memory(child) < 0 {
        release_task_memory(child)
        child.pointee = mm_task()
        return nil
    }
    let frame = TaskTable.trapFrame(child)
    frame.pointee = TaskTable.trapFrame(parent).pointee
    frame.pointee.x.0 = 0  // fork returns 0 in the child
    return child
}

/// Frees everything a zombie owns (user pages and page tables) and its
/// slot: after this the pool has every page the task ever took back.
@inline(never) @_silgen_name("reap_task")
func reap_task(_ zombie: UnsafeMutablePointer<mm_task>) {
    release_task_memory(zombie)
    zombie.pointee = mm_task()  // state FREE
}

/// Ends the current task as killed by a fault (exit code MM_EXIT_FAULT).
/// The mm fault paths call it (through exitProcessHook) right after
/// printing their `[KERN] <kind> at 0x…` line. Never returns.
@inline(never) @_silgen_name("exit_process")
func exit_process() {
    ProcessLifecycle.exitCurrent(code: Int64(MM_EXIT_FAULT))
}
#endif
