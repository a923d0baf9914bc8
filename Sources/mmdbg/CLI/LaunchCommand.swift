import ArgumentParser
import FaultInjection
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

    @Option(name: .customLong("record"), help: ArgumentHelp("Record the run with QEMU's record/replay into DIR (a new folder): event log, snapshot image, transcript, manifest. Replay it with `mmdbg replay --debug DIR`. At quit the kernel runs on to power-off so the recording is whole.", valueName: "DIR"))
    var record: String?

    func run() throws {
        let frontend = Frontend(options: self.frontend)
        let session = try Self.startSession(frontend, kernel: kernel, qemuArguments: qemuArguments, append: append,
                                            record: record, elf: self.frontend.elf)
        try frontend.run(session)
    }

    /// Boots the kernel (built if needed) stopped at entry and attaches: `mmdbg launch` and `mmdbg dap`'s `launch`.
    /// Failures are reported through `frontend.status` and thrown as `ProcessExit`.
    static func startSession(_ frontend: Frontend, kernel: String?, qemuArguments: [String], append: String?,
                             record: String?, elf: String?) throws -> Session {
        let kernelPath = try KernelBuilder.ensureKernel(explicit: kernel, reporter: frontend.status)
        var configuration = QEMUConfiguration(kernel: kernelPath)
        configuration.gdb = .tcpFreePort
        configuration.stoppedAtEntry = true
        configuration.append = append
        configuration.extraArguments = qemuArguments
        let started = Date()
        if let record {
            do { configuration = try Recording.prepare(record, configuration: configuration) } catch {
                frontend.status("error: \(error)")
                throw ProcessExit(status: .usage)
            }
        }
        let qemu: QEMUInstance
        do { qemu = try QEMUInstance(configuration) } catch {
            frontend.status("error: \(error.description)")
            throw ProcessExit(status: .cannotConnect)
        }
        let session = frontend.makeSession()
        session.adoptLaunched(qemu)
        if let record {
            session.willEnd.append { [configuration] session in
                // Detaching resumes QEMU without our breakpoints; the kernel powers off and QEMU closes the log.
                if let target = session.target, target.runState == .stopped { target.detach() }
                let status = try? qemu.waitForExit(timeout: 60)
                if status == nil { frontend.status("warning: the kernel did not power off within 60 s: the recording ends where QEMU was stopped") }
                do {
                    try Recording.finish(record, configuration: configuration, arguments: qemu.arguments,
                                         transcript: qemu.outputText, trace: nil, started: started)
                    frontend.status("recorded into \(record) (replay: mmdbg replay --debug \(record))")
                } catch { frontend.status("error: \(error)") }
            }
        }
        frontend.loadSymbols(into: session, default: elf ?? kernelPath)
        frontend.status("QEMU pid \(qemu.pid), gdbstub \(qemu.gdbAddress ?? "?")")
        try frontend.attach(session, to: qemu.gdbAddress ?? "")
        return session
    }
}
