#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// Where every exception lands (vectors.S saves an mm_trap_frame and calls
/// mm_exception(kind, frame); kind = vector index). EL0 synchronous
/// exceptions are routed by ESR_EL1.EC: SVC → system calls, data abort →
/// do_data_abort, instruction abort → do_instruction_abort, anything else
/// → do_el0_sync_fault. Every EL0 fault therefore ends in one
/// `[KERN] <kind> at 0x…` line and a zombie (or, for a demand-paged page,
/// a retried access); nothing EL0 does can hang or panic the core.
/// IRQs (timer, reschedule IPI) come from EL0 or from the idle loop. Anything else is a
/// kernel bug: print ESR/ELR/FAR and power off.
enum ExceptionKind {
    static let el1Synchronous: UInt64 = 4
    static let el1IRQ: UInt64 = 5
    static let el0Synchronous: UInt64 = 8
    static let el0IRQ: UInt64 = 9
    static let el0SError: UInt64 = 11
}

/// ESR_EL1 exception classes (Arm ARM D17.2.37).
enum ExceptionClass {
    static let svc64: UInt64 = 0x15
    static let instructionAbortLowerEL: UInt64 = 0x20
    static let dataAbortLowerEL: UInt64 = 0x24
}

@_cdecl("mm_exception")
func mmException(_ kind: UInt64, _ frame: UnsafeMutablePointer<mm_trap_frame>) {
    // Anything but these is a kernel bug: report it without waiting for the
    // kernel lock (this CPU may hold it).
    switch kind {
    case ExceptionKind.el0Synchronous, ExceptionKind.el0IRQ, ExceptionKind.el1IRQ, ExceptionKind.el0SError: break
    default: unexpectedException(kind, frame)
    }
    // The kernel lock, for everything until the exception returns (a switch
    // away hands it to the next task, which drops it on its way out).
    mm_kernel_lock()
    defer {
        Scheduler.kickIdleCPU()
        mm_kernel_unlock()
    }
    switch kind {
    case ExceptionKind.el0Synchronous:
        handleEL0Synchronous(frame)
    case ExceptionKind.el0IRQ, ExceptionKind.el1IRQ:
        handleIRQ()
    case ExceptionKind.el0SError:
        // An asynchronous external abort caused by EL0: that task dies.
        _ = do_el0_sync_fault(mm_read_esr(), frame.pointee.elr)
    default:
        unexpectedException(kind, frame)
    }
}

private func handleEL0Synchronous(_ frame: UnsafeMutablePointer<mm_trap_frame>) {
    let esr = mm_read_esr()
    switch (esr >> 26) & 0x3F {
    case ExceptionClass.svc64:
        SyscallDispatch.handle(frame)
    case ExceptionClass.dataAbortLowerEL:
        // 0: the page was demand-mapped, retry the access. -1 without
        // ending the task: a fault code do_data_abort does not dispatch
        // (alignment, access flag, ...): still one marker and a zombie.
        if do_data_abort(mm_read_far(), esr) != 0 { _ = do_el0_sync_fault(esr, frame.pointee.elr) }
    case ExceptionClass.instructionAbortLowerEL:
        _ = do_instruction_abort(mm_read_far(), esr)
    default:
        _ = do_el0_sync_fault(esr, frame.pointee.elr)
    }
}

private func handleIRQ() {
    let acknowledged = GIC.acknowledge()
    let id = acknowledged & 0x3FF
    if id == GIC.spuriousInterrupt { return }
    let isTimer = id == Timer.interruptID
    if isTimer { Scheduler.timerTick() }
    if id == GIC.rescheduleInterrupt { mm_this_cpu().pointee.ipis &+= 1 }  // idle's loop schedules on return
    GIC.endOfInterrupt(acknowledged)
    if isTimer { preempt_tick() }
}

/// The tick's preemption check under a plain symbol, so a debugger can break
/// on it or force it to return (`inject preempt_tick --pid P --return 0`: the
/// tick never preempts task P).
@inline(never) @_silgen_name("preempt_tick")
func preempt_tick() { Scheduler.preemptIfSliceUsedUp() }

private func unexpectedException(_ kind: UInt64, _ frame: UnsafeMutablePointer<mm_trap_frame>) -> Never {
    Console.write("[PANIC] unexpected exception kind=")
    Console.writeDecimal(kind)
    Console.write(" ESR=0x")
    Console.writeHex(mm_read_esr())
    Console.write(" ELR=0x")
    Console.writeHex(frame.pointee.elr)
    Console.write(" FAR=0x")
    Console.writeHex(mm_read_far())
    Console.write("\n")
    mm_psci_system_off()
}
#endif
