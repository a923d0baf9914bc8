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
}
