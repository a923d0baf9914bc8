import Foundation
import GdbRemote
import Inspect
import QEMULauncher

/// A guest (the kernel, the MMU guest) ran but did not stop where a test asked. One line.
public enum StoppedKernelError: Error, CustomStringConvertible {
    case didNotStop(at: String, stop: String, output: String)

    public var description: String {
        switch self {
        case .didNotStop(let place, let stop, let output):
            return "kernel did not stop at \(place) (\(stop)); output: \(output.suffix(300).replacingOccurrences(of: "\n", with: "\\n"))"
        }
    }
}

/// The bundled kernel booted under QEMU (stopped at entry, gdbstub on a free
/// port), run to a breakpoint on a kernel symbol, with a GdbRemote client and
/// an Inspect memory source on it. `stop()` (call it in `defer`) closes the
/// client and kills QEMU by PID.
public final class StoppedKernel {
    public let qemu: QEMUInstance
    public let client: GdbClient
    public let elf: ELFFile
    public let memory: GdbMemorySource

    /// Boots with `append` (e.g. `linear=pages`) and continues until `symbol`'s
    /// first instruction (default: the PSCI power-off call, when boot is complete).
    /// `smp` is the number of CPUs (-smp), `memory` the guest RAM (-m).
    /// `icountShift` (-icount) makes guest time count instructions, so where the
    /// timer tick preempts a task no longer depends on how loaded the host is:
    /// use it when the stop must find the tasks in one schedule.
    /// `sharedRAM: false` gives QEMU anonymous RAM instead of the launcher's RAM file.
    public init(append: String? = "linear=pages", stopAt symbol: String = "mm_psci_system_off", smp: Int = 1,
                memory ram: String = "128M", icountShift: Int? = nil, sharedRAM: Bool = true, timeout: Double = 30) throws {
        let kernel = try Tools.kernelImage()
        elf = try ELFFile(path: kernel)
        _ = try elf.address(of: symbol)
        var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
        configuration.append = append
        configuration.smp = smp
        configuration.memory = ram
        configuration.icountShift = icountShift
        configuration.sharedRAM = sharedRAM
        let qemu = try QEMUInstance(configuration)
        do {
            client = try GdbClient.connect(to: .tcp(host: "127.0.0.1", port: qemu.gdbPort!), timeout: 30)
        } catch {
            qemu.stop()
            throw error
        }
        self.qemu = qemu
        memory = GdbMemorySource(client: client)
        do { try run(to: symbol, timeout: timeout) } catch {
            stop()
            throw error
        }
    }

    /// Continues until the first instruction of `symbol` (other breakpoints removed).
    public func run(to symbol: String, timeout: Double = 30) throws {
        try run(toAddress: try elf.address(of: symbol), named: symbol, timeout: timeout)
    }

    /// Continues until `address` is executed (e.g. a return address), other breakpoints removed.
    public func run(toAddress address: UInt64, named name: String? = nil, timeout: Double = 30) throws {
        try client.removeAllBreakpoints()
        // Continuing from a breakpoint's own PC would hit it again at once: step off it first.
        if try client.readRegister("pc") == address { _ = try client.step(timeout: timeout) }
        try client.setBreakpoint(.software, at: address)
        let stop = try client.continueAndWait(timeout: timeout)
        guard try client.readRegister("pc") == address else {
            throw StoppedKernelError.didNotStop(at: name ?? Hex.format(address), stop: "\(stop)", output: qemu.outputText)
        }
    }

    /// SCTLR, TCR, MAIR, TTBR0, TTBR1 of the stopped CPU.
    public func registers() throws -> TranslationRegisters {
        try TranslationRegisters.read(from: client)
    }

    /// The decoded translation state; Cortex-A53 implements 40 physical address bits.
    public func context() throws -> TranslationContext {
        TranslationContext(registers: try registers(), cpuPhysicalAddressBits: 40)
    }

    /// QEMU's own translation (`gva2gpa`), nil when QEMU says the VA is unmapped.
    public func qemuTranslation(_ va: UInt64) throws -> UInt64? {
        try client.qemuTranslation(va)
    }

    /// The guest's serial output lines so far.
    public var consoleLines: [String] {
        qemu.outputText.split(separator: "\n", omittingEmptySubsequences: true).map { String($0) }
    }

    /// The serial output lines once `text` has arrived: the VM may be stopped
    /// while the host has not drained the serial pipe yet.
    public func consoleLines(waitingFor text: String, timeout: Double = 30) throws -> [String] {
        try qemu.waitForOutput(containing: text, timeout: timeout)
        return consoleLines
    }

    public func stop() {
        client.close()
        qemu.stop()
    }
}
