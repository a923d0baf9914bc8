import Testing
import KernelSupport
@testable import KernelCore

@Suite("Run queue (scheduler policy)") struct RunQueueTests {
    /// A task table with the given states; slot 0 is idle.
    func table(_ states: [Int32]) -> [mm_task] {
        states.map { state in
            var task = mm_task()
            task.state = Int64(state)
            return task
        }
    }

    func next(_ states: [Int32], after current: Int) -> Int {
        table(states).withUnsafeBufferPointer { RunQueue.next(after: current, in: $0) }
    }

    let free = MM_TASK_FREE, runnable = MM_TASK_RUNNABLE, running = MM_TASK_RUNNING
    let sleeping = MM_TASK_SLEEPING, waiting = MM_TASK_WAITING, zombie = MM_TASK_ZOMBIE

    @Test func roundRobinVisitsEveryRunnableTaskInSlotOrder() {
        let states = [running, runnable, running, runnable, free]
        #expect(next(states, after: 1) == 2)
        #expect(next(states, after: 2) == 3)
        #expect(next(states, after: 3) == 1, "wraps around, skipping idle")
    }

    @Test func skipsTasksThatCannotRun() {
        let states = [running, runnable, sleeping, waiting, zombie, free, runnable]
        #expect(next(states, after: 1) == 6)
        #expect(next(states, after: 6) == 1)
    }

    @Test func currentRunsAgainWhenItIsTheOnlyRunnableTask() {
        #expect(next([running, waiting, running, zombie], after: 2) == 2)
    }

    @Test func idleRunsWhenNothingElseCan() {
        #expect(next([running, waiting, sleeping, zombie], after: 0) == 0)
        #expect(next([running, waiting, sleeping, zombie], after: 2) == 0)
        #expect(next([running], after: 0) == 0)
    }

    @Test func idleHandsOverToTheFirstRunnableTask() {
        #expect(next([running, free, free, runnable], after: 0) == 3)
    }

    @Test func hasOtherRunnableOnlyWhenSomeoneElseWaitsForTheCPU() {
        table([running, running, waiting]).withUnsafeBufferPointer {
            #expect(!RunQueue.hasOtherRunnable(than: 1, in: $0))
        }
        table([running, running, runnable]).withUnsafeBufferPointer {
            #expect(RunQueue.hasOtherRunnable(than: 1, in: $0))
        }
        table([running, runnable]).withUnsafeBufferPointer {
            #expect(RunQueue.hasOtherRunnable(than: 0, in: $0), "idle yields to any runnable task")
        }
    }

    @Test func sleepersWakeAtTheirTickNotBefore() {
        var tasks = table([running, sleeping, sleeping, waiting])
        tasks[1].wake_tick = 10
        tasks[2].wake_tick = 12
        tasks[3].wake_tick = 1  // waiting is not sleeping: untouched
        tasks.withUnsafeMutableBufferPointer { buffer in
            #expect(RunQueue.wakeSleepers(in: buffer, now: 9) == 0)
            #expect(RunQueue.wakeSleepers(in: buffer, now: 10) == 1)
            #expect(buffer[1].state == Int64(MM_TASK_RUNNABLE))
            #expect(buffer[2].state == Int64(MM_TASK_SLEEPING))
            #expect(RunQueue.wakeSleepers(in: buffer, now: 100) == 1)
            #expect(buffer[2].state == Int64(MM_TASK_RUNNABLE))
            #expect(buffer[3].state == Int64(MM_TASK_WAITING))
        }
    }

    @Test func sliceRunsOutAfterTimeSliceTicksAndRefills() {
        var task = mm_task()
        task.counter = Int64(MM_TIME_SLICE_TICKS)
        for _ in 1..<MM_TIME_SLICE_TICKS { #expect(!RunQueue.chargeTick(&task)) }
        #expect(RunQueue.chargeTick(&task))
        #expect(task.counter == Int64(MM_TIME_SLICE_TICKS))
    }

    /// Tasks with pids: pid 0 marks an idle task (one per CPU on SMP).
    func smpTable(_ entries: [(state: Int32, pid: Int64)]) -> [mm_task] {
        entries.map { entry in
            var task = mm_task()
            task.state = Int64(entry.state)
            task.pid = entry.pid
            return task
        }
    }

    @Test func smpPickSkipsOtherCPUsIdleAndRunningTasks() {
        // slot 0: CPU 0's idle, slot 1: CPU 1's idle, slot 2 runs on CPU 1, 3 and 4 wait.
        let tasks = smpTable([(running, 0), (running, 0), (running, 1), (runnable, 2), (sleeping, 3), (runnable, 4)])
        tasks.withUnsafeBufferPointer {
            #expect(RunQueue.pick(after: 0, in: $0) == 3)
            #expect(RunQueue.pick(after: 3, in: $0) == 5)
            #expect(RunQueue.pick(after: 5, in: $0) == 3, "wraps, never the task running on CPU 1")
            #expect(RunQueue.hasOtherWaiting(than: 2, in: $0))
        }
        smpTable([(running, 0), (running, 0), (running, 1), (running, 2)]).withUnsafeBufferPointer {
            #expect(RunQueue.pick(after: 1, in: $0) == 0, "both tasks run elsewhere: idle")
            #expect(RunQueue.pick(after: 3, in: $0) == 3, "the current task may go on")
            #expect(!RunQueue.hasOtherWaiting(than: 3, in: $0))
        }
    }

    @Test func smpPickAgreesWithNextOnOneCPU() {
        // One CPU: every slot but the current one is RUNNABLE or not runnable at all.
        let states = [runnable, waiting, runnable, sleeping, runnable, zombie, free]
        for current in 0..<states.count {
            var entries = states.enumerated().map { (state: $0.element, pid: Int64($0.offset)) }
            if entries[current].state == runnable { entries[current].state = running }
            let tasks = smpTable(entries)
            tasks.withUnsafeBufferPointer {
                #expect(RunQueue.pick(after: current, in: $0) == RunQueue.next(after: current, in: $0))
            }
        }
    }
}
