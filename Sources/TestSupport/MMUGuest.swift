import Foundation
import GdbRemote
import Inspect
import QEMULauncher

/// A bare-metal guest that turns the MMU on with translation tables a test
/// wrote into its RAM through the stub, so QEMU's own walker (`gva2gpa`) can
/// judge Inspect's on tables of any granule and input size.
///
///     _start: MAIR, TCR, TTBR0, TTBR1 <- the words at `parameters`; TLBI
///             SCTLR.M = 1
///     mmuOn:  b mmuOn          (the code page must be identity-mapped by TTBR0)
public enum MMUGuest {
    public static let entry: UInt64 = 0x4008_0000
    public static let mmuOn: UInt64 = 0x4008_0080
    /// MAIR, TCR, TTBR0, TTBR1 as four little-endian words.
    public static let parameters: UInt64 = 0x4008_1000

    static let source = """
        .text
        .global _start
    _start:
        adr x1, parameters
        ldr x0, [x1, #0]
        msr mair_el1, x0
        ldr x0, [x1, #8]
        msr tcr_el1, x0
        ldr x0, [x1, #16]
        msr ttbr0_el1, x0
        ldr x0, [x1, #24]
        msr ttbr1_el1, x0
        isb
        tlbi vmalle1
        dsb sy
        isb
        mrs x0, sctlr_el1
        orr x0, x0, #1
        msr sctlr_el1, x0
        isb
        b mmu_on
        .org 0x80
    mmu_on:
        b mmu_on
        .org 0x1000
    parameters:
        .quad 0, 0, 0, 0
    """

    /// Builds the guest (once per source version, shared by test processes) and
    /// returns the ELF path; fails with an install hint.
    public static func image() throws -> String {
        try GuestAssembler.image(of: source, named: "mmuguest", what: "the MMU guest")
    }

    /// Boots the guest on `cpu`, copies `memory`'s chunks (the tables) into its RAM,
    /// writes the registers, and runs it until the MMU is on.
    public static func start(cpu: String, memory: SyntheticMemory, registers: TranslationRegisters) throws -> (QEMUInstance, GdbClient) {
        var configuration = QEMUConfiguration.stoppedForDebugger(kernel: try image())
        configuration.cpu = cpu
        let qemu = try QEMUInstance(configuration)
        do {
            let client = try GdbClient.connect(to: .tcp(host: "127.0.0.1", port: qemu.gdbPort!), timeout: 30)
            let source = GdbMemorySource(client: client)
            for chunk in memory.storedChunks {
                try source.write(chunk.bytes, to: chunk.address, in: .physical)
            }
            let words = [registers.mair, registers.tcr, registers.ttbr0, registers.ttbr1]
            try source.write(words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * UInt64($0))) } },
                             to: parameters, in: .physical)
            try client.setBreakpoint(.software, at: mmuOn)
            _ = try client.continueAndWait(timeout: 30)
            guard try client.readRegister("pc") == mmuOn, try client.readRegister("SCTLR") & 1 == 1 else {
                throw StoppedKernelError.didNotStop(at: "mmu_on with the MMU on (MMU guest)", stop: "pc or SCTLR.M differ",
                                                    output: qemu.outputText)
            }
            return (qemu, client)
        } catch {
            qemu.stop()
            throw error
        }
    }
}
