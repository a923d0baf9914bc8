#if hasFeature(Embedded)
import KernelSupport
import KernelCore

/// Kernel part 2's entry from kernelMain: interrupts and the timer on, the
/// boot context becomes the idle task, the other CPUs start
/// (SecondaryCPUs), init is loaded from its embedded
/// ELF with the kernel command line as its argument, and the scheduler
/// takes over. init's exit ends the run (initExited powers off).
public enum UserSpace {
    public static func start(commandLine: UnsafeRawBufferPointer) -> Never {
        exitProcessHook = { exit_process() }
        TaskTable.adoptIdle()
        GIC.initialize()
        GIC.enablePrivateInterrupt(GIC.rescheduleInterrupt)
        Timer.start()
        SecondaryCPUs.startAll()
        // From here other CPUs may run the scheduler: the kernel lock, held
        // into the idle loop.
        mm_kernel_lock()

        guard let initTask = TaskTable.allocate(parentPid: 0) else { kernelPanic("no task slot for init") }
        TaskTable.setName(initTask, "init")
        do {
            try ProgramLoader.load(UserImages.initProgram, into: initTask, arguments: commandLine)
        } catch {
            Console.write("[PANIC] loading init: ")
            Console.write(error.description)
            Console.write("\n")
            mm_psci_system_off()
        }
        Console.write("[TASK] init: pid 1, entry 0x")
        Console.writeHex(TaskTable.trapFrame(initTask).pointee.elr)
        Console.write(", ")
        Console.writeDecimal(UInt64(task_up_count(initTask)))
        Console.write(" pages, ")
        Console.writeDecimal(UInt64(task_kp_count(initTask)))
        Console.write(" tables, free pages ")
        Console.writeDecimal(mm_pool.free_pages)
        Console.write("\n")
        initTask.pointee.state = Int64(MM_TASK_RUNNABLE)
        Scheduler.idleLoop()
    }

    /// init called exit: report and power off.
    static func initExited(code: Int64) -> Never {
        Console.write("[TASK] init exited with code ")
        if code < 0 { Console.write("-") }
        Console.writeDecimal(code.magnitude)
        Console.write(", ticks ")
        Console.writeDecimal(mm_tick)
        Console.write("\n")
        Console.write("[BOOT] power off\n")
        mm_psci_system_off()
    }
}
#endif
