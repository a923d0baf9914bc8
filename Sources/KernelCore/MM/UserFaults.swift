import KernelSupport

// EL0 fault handling with the reference module's region dispatch. The HARD
// path: a fault that cannot be resolved prints one "[KERN] <kind> at 0x<hex>"
// marker (kernel_abi.h) and ends the task through exit_process.

/// exit_process belongs to kernel part 2 (task teardown); mm code reaches it
/// through this hook so host tests can record the call. In the kernel it
/// never returns. Unset, a fault that needs it panics.
public nonisolated(unsafe) var exitProcessHook: (@convention(c) () -> Void)? = nil

/// Calls exit_process through `exitProcessHook`.
func exitCurrentProcess() {
    guard let exitProcess = exitProcessHook else {
        kernelPanic("exit_process hook not installed")
    }
    exitProcess()
}

/// Prints "<marker><hex value>\n".
func printMarker(_ marker: UnsafePointer<CChar>, _ value: UInt64) {
    Console.write(cString: marker)
    Console.writeHex(value)
    Console.write("\n")
}

/// Leaf flags for demand-allocated heap and stack pages: RW, never executable.
let demandPageFlags: UInt64 = MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_USER_XN

/// Which user region a page-aligned UVA of the current task lies in.
enum UserRegion {
    case heap, stack, stackGuard, text, wild

    init(_ uva: UInt64, brk: UInt64) {
        if uva >= MM_HEAP_BASE && uva < brk { self = .heap }
        else if uva >= MM_STACK_LOW && uva < MM_STACK_TOP { self = .stack }
        else if uva >= MM_STACK_GUARD_LOW && uva < MM_STACK_GUARD_HIGH { self = .stackGuard }
        else if uva >= MM_TEXT_BASE && uva < MM_DATA_BASE { self = .text }
        else { self = .wild }
    }

    /// Heap below brk and the stack are paged in on demand.
    var isDemandPaged: Bool { self == .heap || self == .stack }
}

/// Maps a fresh page at `uva` in `t`. Idempotent: a page already mapped
/// there (a fault that raced with another one) is success, with no second
/// page. Returns false (pool unchanged) if the page or a table cannot be allocated.
func demandMapPage(_ t: UnsafeMutablePointer<mm_task>, _ uva: UInt64) -> Bool {
    if let leaf = lookup_pte_slot(t, uva), leaf.pointee & MM_TD_VALID != 0 { return true }
    let page = get_free_page()
    if page == 0 { return false }
    let status = map_page(t, uva, page, demandPageFlags)
    if status == 0 { return true }
    free_page(page)
    return status == mapPageAlreadyMapped
}

/// `va` without its top byte: TCR_EL1.TBI0 is set (the Swift driver passes
/// -aarch64-use-tbi), so EL0 may use tagged pointers, and FAR_EL1's top
/// byte is the tag (or UNKNOWN). Only bits [55:0] name the page.
@inline(__always)
func untaggedUserAddress(_ va: UInt64) -> UInt64 { va & 0x00FF_FFFF_FFFF_FFFF }

/// Prints `marker` for `far`, ends the current task; -1 for the caller's
/// signature (unreachable in the kernel: exit_process does not return).
private func killCurrent(_ marker: UnsafePointer<CChar>, _ far: UInt64) -> Int32 {
    printMarker(marker, far)
    exitCurrentProcess()
    return -1
}

/// EL0 data abort. FAR's top byte (a TBI0 tag) is ignored, as the MMU
/// ignored it. Permission faults (DFSC 0xC-0xF) end the task
/// ("perm fault"); translation faults at any level (DFSC 0x4-0x7) are
/// dispatched by region: heap below brk and stack are demand-paged (OOM
/// ends the task: "OOM"), the stack guard is "stack overflow", text is
/// "text fault", anything else "invalid uva". Other fault codes return -1
/// untouched. Returns 0 when the faulting access can be retried.
@inline(never) @_silgen_name("do_data_abort")
public func do_data_abort(_ far: UInt64, _ esr: UInt64) -> Int32 {
    let dfsc = esr & 0x3F
    if dfsc >= 0xC && dfsc <= 0xF { return killCurrent(mm_text_mark_perm_fault(), far) }
    if dfsc < 0x4 || dfsc > 0x7 { return -1 }
    guard let current = mm_current_task() else { return -1 }

    let faultUVA = untaggedUserAddress(far) & Paging.pageMask
    switch UserRegion(faultUVA, brk: current.pointee.mm.brk) {
    case .heap, .stack:
        return demandMapPage(current, faultUVA) ? 0 : killCurrent(mm_text_mark_oom(), far)
    case .stackGuard:
        return killCurrent(mm_text_mark_stack_overflow(), far)
    case .text:
        return killCurrent(mm_text_mark_text_fault(), far)
    case .wild:
        return killCurrent(mm_text_mark_invalid_uva(), far)
    }
}

/// EL0 instruction abort: every legal text page is mapped eagerly, so any
/// faulting fetch (UXN page, unmapped UVA) is a crash: "exec fault".
///
/// `esr` is unused (as in the reference), and the optimizer's
/// function-signature pass then clones the function without it under a
/// mangled name (`$e20do_instruction_abortTf4nd_n`) and drops the plain
/// symbol a debugger breaks on. `@_optimize(none)` keeps the pass away.
@_optimize(none)
@inline(never) @_silgen_name("do_instruction_abort")
public func do_instruction_abort(_ far: UInt64, _ esr: UInt64) -> Int32 {
    killCurrent(mm_text_mark_exec_fault(), far)
}

/// Any other EL0 synchronous exception (undefined instruction, alignment,
/// illegal state, ...): "el0 sync fault ec=0x<EC> at 0x<ELR>", task ends.
@inline(never) @_silgen_name("do_el0_sync_fault")
public func do_el0_sync_fault(_ esr: UInt64, _ elr: UInt64) -> Int32 {
    Console.write(cString: mm_text_mark_el0_sync())
    Console.writeHex((esr >> 26) & 0x3F)
    Console.write(" at 0x")
    Console.writeHex(elr)
    Console.write("\n")
    exitCurrentProcess()
    return -1
}
