#if hasFeature(Embedded)
import KernelSupport

/// The scheduler's clock: the EL1 virtual timer firing MM_TICK_HZ times a
/// second as PPI 27. Each tick advances `mm_tick` (a debugger-visible global).
enum Timer {
    static let interruptID: UInt32 = 27

    private static var ticksPerInterrupt: UInt64 = 0

    static func start() {
        ticksPerInterrupt = mm_timer_frequency() / UInt64(MM_TICK_HZ)
        mm_timer_allow_el0_counter()
        GIC.enablePrivateInterrupt(interruptID)
        mm_timer_arm(ticksPerInterrupt)
    }

    /// Re-arms the timer and counts the tick.
    static func tick() {
        mm_timer_arm(ticksPerInterrupt)
        mm_tick &+= 1
    }
}
#endif
