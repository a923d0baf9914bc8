#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// SMP bring-up: every CPU the device tree lists (/cpus/cpu@N, reg = its
/// MPIDR) besides the boot CPU is started with PSCI CPU_ON, one at a time,
/// in the tree's order; it becomes mm_cpus[1], [2], ... Each gets an idle
/// task in a free task slot (whose kernel stack it boots on), its own GIC
/// CPU interface, timer and reschedule IPI, and then runs the scheduler.
///
/// On one CPU this does nothing and prints nothing, so the default boot's
/// output stays what it was before SMP.
enum SecondaryCPUs {
    /// Starts them; prints `[BOOT] cpus: N online (...)` when there is more than one.
    static func startAll() {
        let boot = mm_cpu_at(0)!
        boot.pointee.mpidr = mm_read_mpidr()
        boot.pointee.state = Int64(MM_CPU_IDLE)
        guard let dtb = FlattenedDeviceTree(at: UnsafeRawPointer(bitPattern: UInt(paToKva(mm_boot_dtb)))!) else { return }
        var listed: UInt64 = 0, failed: UInt64 = 0
        dtb.forEachCPU { mpidr in
            listed += 1
            if mpidr == boot.pointee.mpidr { return }
            if mm_cpu_count >= UInt64(MM_MAX_CPUS) || !start(mpidr: mpidr) { failed += 1 }
        }
        if listed < 2 { return }
        Console.write("[BOOT] cpus: ")
        Console.writeDecimal(mm_cpu_count)
        Console.write(" online")
        if failed > 0 {
            Console.write(", ")
            Console.writeDecimal(failed)
            Console.write(" failed to start")
        }
        Console.write("\n")
    }

    /// CPU_ON for one CPU; true once it reports itself idle (deadline: one second).
    private static func start(mpidr: UInt64) -> Bool {
        let index = UInt32(mm_cpu_count)
        guard let idle = TaskTable.allocateIdle(name: "idle") else { return false }
        let cpu = mm_cpu_at(index)!
        cpu.pointee = mm_cpu()
        cpu.pointee.mpidr = mpidr
        cpu.pointee.current = UInt64(UInt(bitPattern: idle))
        cpu.pointee.idle = cpu.pointee.current
        mm_publish_secondary_boot(mm_read_ttbr1(), idle.pointee.kernel_stack + UInt64(MM_KERNEL_STACK_SIZE))
        mm_cpu_count += 1
        let status = mm_psci_cpu_on(mpidr, mm_secondary_entry_pa(), UInt64(index))
        if status == 0 {
            let deadline = mm_timer_counter() &+ mm_timer_frequency()
            // yield: under single-threaded TCG (-icount) the starting CPU runs only when this one gives way.
            while mm_cpu_state_load(cpu) == Int64(MM_CPU_OFFLINE) && mm_timer_counter() < deadline { mm_cpu_relax() }
            if mm_cpu_state_load(cpu) != Int64(MM_CPU_OFFLINE) { return true }
        }
        Console.write("[BOOT] cpu with MPIDR 0x")
        Console.writeHex(mpidr)
        Console.write(status == 0 ? " did not come up\n" : " refused by PSCI CPU_ON\n")
        // A CPU that never ran may be forgotten; one that is late would still
        // run on this slot and stack, so only a refused one gives them back.
        if status != 0 {
            mm_cpu_count -= 1
            cpu.pointee = mm_cpu()
            idle.pointee = mm_task()
        }
        return false
    }
}

/// A secondary CPU's first Swift code (boot.S secondary_entry, MMU on, on
/// its idle task's stack). Never returns.
@_cdecl("mm_secondary_main")
func secondaryMain(_ index: UInt64) -> Never {
    let cpu = mm_cpu_at(UInt32(index))!
    mm_set_this_cpu(cpu)
    mm_kernel_lock()
    GIC.initializeThisCPU()
    GIC.enablePrivateInterrupt(GIC.rescheduleInterrupt)
    Timer.start()
    Scheduler.switchAddressSpace(to: TaskTable.current)
    mm_cpu_state_store(cpu, Int64(MM_CPU_IDLE))
    Scheduler.idleLoop()
}
#endif
