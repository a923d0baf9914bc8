import ArgumentParser
import Foundation

/// Options shared by every way of starting a session.
struct FrontendOptions: ParsableArguments {
    @Option(name: [.customLong("ex", withSingleDash: true), .customLong("ex")], parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Run a command (repeatable); no prompt afterwards.", valueName: "CMD"))
    var commands: [String] = []

    @Option(name: .customLong("batch"), help: ArgumentHelp("Run the commands in FILE (stops at the first failure); no prompt.", valueName: "FILE"))
    var batchFile: String?

    @Flag(name: .customLong("json"), help: "Print every command's result as one JSON document per line.")
    var json = false

    @Option(name: .customLong("elf"), help: ArgumentHelp("The kernel ELF for symbols (default: the bundled kernel when mmdbg launches it).", valueName: "FILE"))
    var elf: String?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Deadline in seconds for `continue`/`finish` outside the prompt.", valueName: "SECONDS"))
    var runTimeout: Double = 30

    /// How guest RAM is read while the target is stopped.
    enum MemoryPath: String, ExpressibleByArgument, CaseIterable {
        /// Directly from the host when QEMU runs here (its RAM file, or process_vm_readv), else the stub.
        case auto
        /// Always through the gdbstub.
        case gdbstub
    }

    @Option(name: .customLong("memory"), help: ArgumentHelp("auto: read guest RAM directly when QEMU runs on this host (`status` says which path); gdbstub: always through the stub.", valueName: "auto|gdbstub"))
    var memoryPath: MemoryPath = .auto

    func validate() throws {
        guard runTimeout > 0, runTimeout < 86_400 else { throw ValidationError("--timeout must be between 0 and 86400 seconds") }
        if let batchFile {
            do throws(BatchFile.Problem) { _ = try BatchFile.lines(of: batchFile) } catch {
                throw ValidationError(error.description)
            }
        }
    }
}
