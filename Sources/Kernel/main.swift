import KernelSupport
import KernelCore

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
    Console.write(cString: mm_text_boot_power_off())
    Console.write("\n")
    mm_psci_system_off()
}

/// Every exception lands here (vectors.S). Part 1: nothing is expected, so
/// name it and power off instead of hanging.
@_cdecl("mm_exception")
func mmException(_ kind: UInt64, _ frame: UnsafeMutablePointer<mm_trap_frame>) {
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
