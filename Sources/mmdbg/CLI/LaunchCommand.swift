import ArgumentParser
import Foundation
import MmdbgCore
import QEMULauncher

/// `mmdbg [launch]`: build if needed, boot the kernel under QEMU stopped at entry, attach.
struct LaunchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Boot the kernel under QEMU (stopped at entry) and debug it."
    )

    @OptionGroup var frontend: FrontendOptions

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Kernel to boot: an AArch64 ELF or an arm64 Linux Image (default: .build-kernel/kernel.elf, built if missing).", valueName: "FILE"))
    var kernel: String?

    @Option(name: .customLong("qemu-arg"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("An extra QEMU argument (repeatable), e.g. --qemu-arg=-smp --qemu-arg=2.", valueName: "ARG"))
    var qemuArguments: [String] = []

    @Option(name: .customLong("append"), help: ArgumentHelp("Kernel command line (QEMU -append).", valueName: "TEXT"))
    var append: String?

    func run() throws {
        let frontend = Frontend(options: self.frontend)
        let kernelPath = try KernelBuilder.ensureKernel(explicit: kernel, reporter: frontend.status)
        var configuration = QEMUConfiguration(kernel: kernelPath)
        configuration.gdb = .tcpFreePort
        configuration.stoppedAtEntry = true
        configuration.append = append
        configuration.extraArguments = qemuArguments
        let qemu: QEMUInstance
        do { qemu = try QEMUInstance(configuration) } catch {
            frontend.status("error: \(error.description)")
            throw ProcessExit(status: .cannotConnect)
        }
        let session = frontend.makeSession()
        session.adoptLaunched(qemu)
        frontend.loadSymbols(into: session, default: self.frontend.elf ?? kernelPath)
        frontend.status("QEMU pid \(qemu.pid), gdbstub \(qemu.gdbAddress ?? "?")")
        try frontend.attach(session, to: qemu.gdbAddress ?? "")
        try frontend.run(session)
    }
}
