import UserRuntime

/// Scenarios for several CPUs (issue 19): run with `tests=smp` (or by name)
/// on `-smp 2..8`; they pass on one CPU too, only with less contention.
/// Not in the default run, whose output must stay what it was. Each runs
/// workers in forked children that the scheduler spreads over the CPUs, and
/// checks that the pool ends with exactly the free pages it started with.
enum SMPScenarios {
    private static let page = UserMemory.pageSize

    /// Workers at once: every slot left once the idle tasks (one per CPU),
    /// init, this scenario and one child per worker are counted.
    private static var workers: Int64 {
        let slots = Int64(MM_NR_TASKS) - mm_sys_cpus() - 2
        return min(4, slots / 2)
    }

    /// Runs `body(i)` in `workers` children at once, then `afterStart`,
    /// and reaps them all (in whatever order they end). Returns the worst
    /// status: the first one `isFailure` rejects (a fork that failed: 100,
    /// a wait that failed: 200), or 0.
    private static func inWorkers(afterStart: () -> Void = {}, isFailure: (Int64) -> Bool = { $0 != 0 },
                                  _ body: (Int64) -> Int64) -> Int64 {
        let count = workers
        for i in 0..<count {
            let pid = mm_sys_fork()
            if pid == 0 { mm_sys_exit(body(i)) }
            if pid < 0 { return 100 + i }
        }
        afterStart()
        var result: Int64 = 0
        for _ in 0..<count {
            var status: Int64 = 0
            if mm_sys_wait(&status) < 0 { return 200 }
            if result == 0 && isFailure(status) { result = status }
        }
        return result
    }

    /// fork/exit storm: each worker forks children that exit at once with a
    /// code of their own, and checks every wait returns that child and code.
    static func forkExitStorm() -> Int64 {
        let before = mm_sys_free_pages()
        let status = inWorkers { worker in
            for round in 0..<Int64(40) {
                let code = (worker * 40 + round) & 0x7F
                let pid = mm_sys_fork()
                if pid == 0 { mm_sys_exit(code) }
                if pid < 0 { return 1 }
                guard Child.waitFor(pid) == code else { return 2 }
            }
            return 0
        }
        if status != 0 { return status }
        return mm_sys_free_pages() == before ? 0 : 3
    }

    /// brk grow and shrink in workers running at once: every round grows the
    /// heap, writes each page, checks it, shrinks to nothing and regrows: the
    /// regrown pages must read zero (fresh pages, no stale TLB entry on any CPU).
    static func brkStorm() -> Int64 {
        let before = mm_sys_free_pages()
        let status = inWorkers { worker in
            let base = UserMemory.currentBreak
            for round in 0..<UInt64(20) {
                let pages = 2 + (UInt64(worker) + round) % 6
                guard UserMemory.setBreak(base + pages * page) else { return 1 }
                for i in 0..<pages where UserMemory.load(base + i * page) != 0 { return 2 }
                for i in 0..<pages { UserMemory.store(UInt64(worker) << 32 | round << 8 | i, at: base + i * page) }
                for i in 0..<pages where UserMemory.load(base + i * page) != UInt64(worker) << 32 | round << 8 | i { return 3 }
                guard UserMemory.setBreak(base) else { return 4 }
                _ = mm_sys_yield()
            }
            return 0
        }
        if status != 0 { return status }
        return mm_sys_free_pages() == before ? 0 : 5
    }

    /// OOM under contention: with the pool limited to a few pages, workers
    /// fork and touch heap pages at once until allocations fail. Forks must
    /// fail cleanly (rollback), touching tasks die with `[KERN] OOM`, and
    /// once everything is reaped and the limit lifted the pool holds exactly
    /// the pages it held before.
    static func oomUnderContention() -> Int64 {
        let before = mm_sys_free_pages()
        var sawFailure = false
        // Workers start before the limit and wait a tick for it: the storm is theirs alone.
        // A worker exits 0 when some allocation failed for it (fork -1 or a child killed
        // by OOM), 1 when none did, >= 2 on a wrong result.
        let status = inWorkers(afterStart: { _ = mm_sys_pool_limit(24) }, isFailure: { status in
            if status == 0 { sawFailure = true }
            return status >= 2
        }) { _ in
            _ = mm_sys_sleep(1)
            var failed = false
            for _ in 0..<Int64(12) {
                let pid = mm_sys_fork()
                if pid == 0 {
                    let base = UserMemory.currentBreak
                    guard UserMemory.setBreak(base + 16 * page) else { mm_sys_exit(2) }
                    for i in 0..<UInt64(16) { UserMemory.store(i, at: base + i * page) }
                    mm_sys_exit(0)
                }
                if pid < 0 { failed = true; continue }
                guard let code = Child.waitFor(pid) else { return 3 }
                if code == Int64(MM_EXIT_FAULT) { failed = true } else if code != 0 { return 4 }
            }
            return failed ? 0 : 1
        }
        _ = mm_sys_pool_limit(0)
        if status != 0 { return status }
        if !sawFailure { return 5 }
        return mm_sys_free_pages() == before ? 0 : 6
    }

    /// 1000 forks (the children exit at once), spread over the workers and
    /// so over the CPUs: not one page may be missing afterwards.
    static func thousandForks() -> Int64 {
        let before = mm_sys_free_pages()
        let count = workers
        let status = inWorkers { worker in
            let share = 1000 / count + (worker < 1000 % count ? 1 : 0)
            for _ in 0..<share {
                let pid = mm_sys_fork()
                if pid == 0 { mm_sys_exit(0) }
                if pid < 0 { return 1 }
                guard Child.waitFor(pid) == 0 else { return 2 }
            }
            return 0
        }
        if status != 0 { return status }
        return mm_sys_free_pages() == before ? 0 : 3
    }
}
