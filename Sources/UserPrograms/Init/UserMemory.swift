import UserRuntime

/// User address-space helpers shared by the scenarios.
enum UserMemory {
    static let pageSize = UInt64(MM_PAGE_SIZE)

    /// The current program break (brk(0) asks without changing it).
    static var currentBreak: UInt64 { UInt64(bitPattern: mm_sys_brk(0)) }

    /// Moves the break to `address`; true when the kernel accepted it.
    static func setBreak(_ address: UInt64) -> Bool {
        mm_sys_brk(address) == Int64(bitPattern: address)
    }

    static func store(_ value: UInt64, at address: UInt64) {
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(address))!.pointee = value
    }

    static func load(_ address: UInt64) -> UInt64 {
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(address))!.pointee
    }
}

/// fork() + wait() plumbing for scenarios that run a step in a child.
enum Child {
    /// Runs `body` in a forked child that exits with its result, waits for
    /// that child and returns its exit status (nil if fork or wait failed).
    static func run(_ body: () -> Int64) -> Int64? {
        let pid = mm_sys_fork()
        if pid == 0 { mm_sys_exit(body()) }
        if pid < 0 { return nil }
        return waitFor(pid)
    }

    /// Waits until child `pid` is reaped (reaping any other zombie child met
    /// on the way) and returns its exit status, or nil if it never shows.
    static func waitFor(_ pid: Int64) -> Int64? {
        while true {
            var status: Int64 = 0
            let reaped = mm_sys_wait(&status)
            if reaped < 0 { return nil }
            if reaped == pid { return status }
        }
    }

    /// True when `body` run in a child is killed by the kernel for a fault.
    static func isKilledByFault(_ body: () -> Int64) -> Bool {
        run(body) == Int64(MM_EXIT_FAULT)
    }
}
