import UserRuntime

/// init: the first EL0 task. Runs the selected [TEST] scenarios, each in a
/// forked child, prints one `[TEST] <name> ok|FAIL` line per scenario and a
/// summary, then checks that the pool has as many free pages as before (all
/// children reaped, nothing leaked). Its exit code (0 = all good) is what
/// the kernel reports before powering off.
@_cdecl("user_main")
func userMain(_ commandLine: UnsafePointer<UInt8>?, _ length: Int64) -> Int64 {
    let selection = Selection(commandLine: UnsafeRawBufferPointer(start: commandLine, count: Int(length)))
    var banner = Line("[INIT] pid ")
    banner.add(decimal: mm_sys_getpid())
    banner.add(": running scenarios")
    banner.emit()

    let freeBefore = mm_sys_free_pages()
    var passed: Int64 = 0
    var failed: Int64 = 0
    selection.forEach { scenario, name in
        var line = Line("[TEST] ")
        line.add(bytes: name)
        guard let scenario else {
            failed += 1
            line.add(" FAIL (unknown scenario)")
            line.emit()
            return
        }
        let status = Child.run(scenario.body)
        let ok: Bool
        switch scenario.expectation {
        case .exitsWithZero: ok = status == 0
        case .killedByFault: ok = status == Int64(MM_EXIT_FAULT)
        }
        if ok {
            passed += 1
            line.add(" ok")
        } else {
            failed += 1
            line.add(" FAIL (exit ")
            if let status { line.add(decimal: status) } else { line.add("unknown: fork/wait failed") }
            line.add(")")
        }
        line.emit()
    }
    // Orphans reparented to init would be reaped here; there must be none.
    var status: Int64 = 0
    while mm_sys_wait(&status) >= 0 {}
    let freeAfter = mm_sys_free_pages()

    var summary = Line("[INIT] summary: ")
    summary.add(decimal: passed)
    summary.add(" passed, ")
    summary.add(decimal: failed)
    summary.add(" failed, ")
    summary.add(decimal: passed + failed)
    summary.add(" run")
    summary.emit()

    var leak = Line("[INIT] free pages before=")
    leak.add(decimal: freeBefore)
    leak.add(" after=")
    leak.add(decimal: freeAfter)
    leak.add(freeAfter == freeBefore ? " no leak" : " LEAK")
    leak.emit()
    return failed == 0 && freeAfter == freeBefore ? 0 : 1
}
