import KernelSupport
import KernelCore
import KernelTasks

@main
struct KernelMain {
    static func main() {
        #if hasFeature(Embedded)
        kernelMain()
        #endif
    }
}

#if hasFeature(Embedded)
/// The boot sequence, one step per line (each prints its [BOOT] line;
/// kernel_abi.h lists them). Later parts append their step before power off.
func kernelMain() {
    Console.write("mmdbg kernel: booting (Embedded Swift, AArch64)\n")
    Console.write(cString: mm_text_boot_mmu_on())
    Console.writeHex(mm_read_sctlr())
    Console.write("\n")
    _ = setUpMemory()
    runMemorySelfTest()
    // Kernel part 2 (KernelTasks): init and the scheduler; init's exit powers off.
    // Exceptions: KernelTasks' mm_exception (exceptions/ExceptionDispatch.swift).
    UserSpace.start(commandLine: bootCommandLine.bytes)
}
#endif
