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
func kernelMain() {
    Console.write("mmdbg kernel: booting (Embedded Swift, AArch64)\n")
    Console.write("[BOOT] MMU on: SCTLR_EL1=0x")
    Console.writeHex(mm_read_sctlr())
    Console.write("\n")
    BootStopgap.initializePagePool()
    UserSpace.start(commandLine: BootStopgap.commandLine())
}
#endif
