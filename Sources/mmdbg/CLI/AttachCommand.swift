import ArgumentParser
import MmdbgCore

/// `mmdbg attach ADDRESS`: debug a QEMU that is already running.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach",
        abstract: "Attach to a running QEMU's gdbstub (HOST:PORT or a Unix socket path).",
        discussion: "Without --elf, everything architectural works: regs, x, vtop, pt, breakpoints by address, monitor. `quit` detaches and leaves QEMU running."
    )

    @Argument(help: ArgumentHelp("HOST:PORT or /path/to/unix.socket", valueName: "ADDRESS"))
    var address: String

    @Option(name: .customLong("qemu-pid"), help: ArgumentHelp("The QEMU process, to read guest RAM with process_vm_readv (default: the gdbstub socket's peer, when it is a local qemu-system-*)", valueName: "PID"))
    var qemuPID: Int32?

    @Option(name: .customLong("ram-file"), help: ArgumentHelp("Guest RAM's backing file (memory-backend-file,share=on), mapped read-only; @GPA gives its guest-physical base", valueName: "FILE[@GPA]"))
    var ramFile: String?

    @OptionGroup var frontend: FrontendOptions

    func validate() throws {
        if let qemuPID, qemuPID <= 0 { throw ValidationError("--qemu-pid must be a process id, not \(qemuPID)") }
        if !address.contains("/") {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                  port > 0, port < 65536, colon != address.startIndex else {
                throw ValidationError("ADDRESS must be HOST:PORT (port 1-65535) or a Unix socket path, not \"\(address)\"")
            }
        }
    }

    func run() throws {
        let frontend = Frontend(options: self.frontend)
        let session = frontend.makeSession()
        if let elf = self.frontend.elf { frontend.loadSymbols(into: session, default: elf) }
        session.connection.qemuPID = qemuPID
        session.connection.ramFile = ramFile
        try frontend.attach(session, to: address)
        try frontend.run(session)
    }
}
