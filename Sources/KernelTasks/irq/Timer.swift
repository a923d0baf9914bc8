#if hasFeature(Embedded)
import KernelSupport

/// The scheduler's clock: the EL1 virtual timer firing MM_TICK_HZ times a
/// second as PPI 27, on every CPU. The boot CPU's ticks advance `mm_tick`
/// (a debugger-visible global).
enum Timer {
    static let interruptID: UInt32 = 27

    private static var ticksPerInterrupt: UInt64 = 0

    /// Starts this CPU's timer (every CPU calls it once).
    static func start() {
        ticksPerInterrupt = mm_timer_frequency() / UInt64(MM_TICK_HZ)
        mm_timer_allow_el0_counter()
        GIC.enablePrivateInterrupt(interruptID)
        mm_timer_arm(ticksPerInterrupt)
    }

    /// Re-arms the timer and counts the tick: on this CPU (mm_cpus[i].ticks)
    /// and, on the boot CPU, the kernel clock mm_tick.
    static func tick() {
        mm_timer_arm(ticksPerInterrupt)
        let cpu = mm_this_cpu()!
        cpu.pointee.ticks &+= 1
        if cpu == mm_cpu_at(0) { mm_tick &+= 1 }
    }
}
#endif
