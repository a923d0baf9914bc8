import UserRuntime

/// Data-region probe: fork must copy it (and the child's writes stay its own).
nonisolated(unsafe) var forkProbe: UInt64 = 0x0DA7_A000

/// fork, preemption, sleep and yield. Bodies return 0 on success or the
/// number of the step that failed.
enum TaskScenarios {
    private static let page = UserMemory.pageSize

    /// The child sees the parent's data, heap and stack contents; its writes
    /// do not reach the parent; permissions survive the copy (a store to
    /// text and a jump into the heap still fault in the child's children);
    /// getpid/fork/wait agree; exit codes arrive.
    static func forkPreservesMemory() -> Int64 {
        let parentPid = mm_sys_getpid()
        forkProbe = 0xF0F0_0000 ^ UInt64(parentPid)
        let heap = UserMemory.currentBreak
        guard UserMemory.setBreak(heap + page) else { return 1 }
        UserMemory.store(0xABCD_EF01, at: heap)
        var stackValue: UInt64 = 0x5555_0000 ^ UInt64(parentPid)
        let result: Int64 = withUnsafeMutablePointer(to: &stackValue) { stackSlot in
            let child = mm_sys_fork()
            if child == 0 {
                var failed: Int64 = 0
                if forkProbe != 0xF0F0_0000 ^ UInt64(parentPid) { failed = 10 }
                else if UserMemory.load(heap) != 0xABCD_EF01 { failed = 11 }
                else if stackSlot.pointee != 0x5555_0000 ^ UInt64(parentPid) { failed = 12 }
                else if mm_sys_getpid() == parentPid { failed = 13 }
                else if !Child.isKilledByFault({ user_store_u64(UInt64(MM_TEXT_BASE), 0); return 1 }) { failed = 14 }
                else if !Child.isKilledByFault({ user_jump_to(heap); return 1 }) { failed = 15 }
                forkProbe = 0
                UserMemory.store(0, at: heap)
                stackSlot.pointee = 0
                mm_sys_exit(failed)
            }
            guard child > 0 else { return 2 }
            guard Child.waitFor(child) == 0 else { return 3 }
            guard forkProbe == 0xF0F0_0000 ^ UInt64(parentPid) else { return 4 }
            guard UserMemory.load(heap) == 0xABCD_EF01 else { return 5 }
            guard stackSlot.pointee == 0x5555_0000 ^ UInt64(parentPid) else { return 6 }
            return 0
        }
        guard result == 0 else { return result }
        guard Child.run({ 42 }) == 42 else { return 7 }
        var status: Int64 = 0
        guard mm_sys_wait(&status) == -1 else { return 8 }  // no children left
        guard UserMemory.setBreak(heap) else { return 9 }
        return 0
    }

    /// Three children spin without any system call, each counting the gaps
    /// in its own view of the counter: a gap much longer than a loop
    /// iteration means another task ran in between, which only timer
    /// preemption can cause. Every spinner must see one.
    static func tasksPreemptEachOther() -> Int64 {
        let spinners = 3
        var spinnerPids: (Int64, Int64, Int64) = (0, 0, 0)
        for i in 0..<spinners {
            let pid = mm_sys_fork()
            if pid == 0 { mm_sys_exit(spinAndCountPreemptions() > 0 ? 0 : 20) }
            guard pid > 0 else { return 1 }
            switch i {
            case 0: spinnerPids.0 = pid
            case 1: spinnerPids.1 = pid
            default: spinnerPids.2 = pid
            }
        }
        // Reap all three in whatever order they finish.
        for _ in 0..<spinners {
            var status: Int64 = 0
            let pid = mm_sys_wait(&status)
            guard pid == spinnerPids.0 || pid == spinnerPids.1 || pid == spinnerPids.2 else { return 2 }
            guard status == 0 else { return 3 }
        }
        return 0
    }

    /// Spins without system calls for six time slices of wall time and
    /// counts the gaps in its view of the counter. The spinners start at
    /// most two slices apart, so each still has slices left when the others
    /// get theirs: with preemption every spinner sees at least one gap.
    private static func spinAndCountPreemptions() -> Int64 {
        let frequency = user_counter_frequency()
        let slice = frequency * UInt64(MM_TIME_SLICE_TICKS) / UInt64(MM_TICK_HZ)
        let spinFor = 6 * slice
        let gap = slice / 2
        let start = user_counter()
        var last = start
        var preemptions: Int64 = 0
        while last &- start < spinFor {
            let now = user_counter()
            if now &- last > gap { preemptions += 1 }
            last = now
        }
        return preemptions
    }

    /// Forks sleeping children until the task table is full: fork must then
    /// return -1 (and take nothing), every child must still be reaped with
    /// its exit code, and wait must report no children afterwards. Slots in
    /// use meanwhile: idle, init, this scenario, the children.
    static func forkUntilTableIsFull() -> Int64 {
        // Slots: one idle task per CPU, init, this scenario's task.
        let expectedChildren = Int64(MM_NR_TASKS) - 2 - mm_sys_cpus()
        var forked: Int64 = 0
        while forked <= expectedChildren {
            let pid = mm_sys_fork()
            if pid == 0 {
                _ = mm_sys_sleep(3)  // stay alive until the table has filled up
                mm_sys_exit(5)
            }
            if pid < 0 { break }
            forked += 1
        }
        guard forked == expectedChildren else { return 1 }
        for _ in 0..<forked {
            var status: Int64 = 0
            guard mm_sys_wait(&status) > 0, status == 5 else { return 2 }
        }
        var status: Int64 = 0
        guard mm_sys_wait(&status) == -1 else { return 3 }
        return 0
    }

    /// sleep(n) lasts at least n ticks of wall time; yield returns 0.
    static func sleepAndYield() -> Int64 {
        let ticks: UInt64 = 3
        let frequency = user_counter_frequency()
        let start = user_counter()
        guard mm_sys_sleep(ticks) == 0 else { return 1 }
        let elapsed = user_counter() &- start
        guard elapsed >= (ticks - 1) * frequency / UInt64(MM_TICK_HZ) else { return 2 }
        guard mm_sys_yield() == 0 else { return 3 }
        return 0
    }
}
