#if hasFeature(Embedded)
import KernelSupport

/// The GICv2 on `-M virt` (distributor at PA 0x08000000, CPU interface at
/// 0x08010000), reached through the kernel's device mapping. Only what the
/// timer and the reschedule IPI need: enable a banked interrupt, send an
/// SGI, acknowledge, end of interrupt.
enum GIC {
    private static let distributor = MM_LINEAR_MAP_BASE + 0x0800_0000
    private static let cpuInterface = MM_LINEAR_MAP_BASE + 0x0801_0000

    /// GICC_IAR's value when nothing is pending.
    static let spuriousInterrupt: UInt32 = 1023

    /// The reschedule IPI (software-generated interrupt 0).
    static let rescheduleInterrupt: UInt32 = 0

    /// The distributor (once, on the boot CPU) and this CPU's interface.
    static func initialize() {
        mm_mmio_write32(distributor + 0x000, 1)       // GICD_CTLR: forward group 0
        initializeThisCPU()
    }

    /// This CPU's banked interface (every CPU calls it once).
    static func initializeThisCPU() {
        mm_mmio_write32(cpuInterface + 0x004, 0xFF)   // GICC_PMR: let every priority through
        mm_mmio_write32(cpuInterface + 0x000, 1)      // GICC_CTLR: signal to the CPU
    }

    /// Raises the reschedule SGI on CPU interface `cpu` (GICD_SGIR, target list).
    static func sendReschedule(toCPU cpu: UInt32) {
        mm_dsb_isb()  // the run-queue update is visible before the IPI
        mm_mmio_write32(distributor + 0xF00, (1 << (16 + cpu)) | rescheduleInterrupt)
    }

    /// Unmasks banked interrupt `id` (an SGI 0...15 or a PPI 16...31) for this CPU at the distributor.
    static func enablePrivateInterrupt(_ id: UInt32) {
        let priorityRegister = distributor + 0x400 + UInt64(id & ~3)
        let shift = (id & 3) * 8
        let priorities = mm_mmio_read32(priorityRegister) & ~(0xFF << shift)
        mm_mmio_write32(priorityRegister, priorities | (0xA0 << shift))  // GICD_IPRIORITYR
        mm_mmio_write32(distributor + 0x100, 1 << id)                    // GICD_ISENABLER0
    }

    /// Reads GICC_IAR: the interrupt being taken (its id in bits 9:0).
    static func acknowledge() -> UInt32 { mm_mmio_read32(cpuInterface + 0x00C) }

    /// Writes GICC_EOIR for a value `acknowledge` returned.
    static func endOfInterrupt(_ acknowledged: UInt32) { mm_mmio_write32(cpuInterface + 0x010, acknowledged) }
}
#endif
