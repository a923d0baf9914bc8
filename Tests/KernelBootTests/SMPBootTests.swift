import Testing
import Foundation
import KernelABI
import QEMULauncher
import TestSupport

/// Issue 19: the kernel on several CPUs under the real QEMU. Every CPU the
/// device tree lists starts (PSCI CPU_ON), the SMP [TEST]s pass on -smp 4
/// with the pool intact, one CPU prints what it always printed, and -smp 2
/// runs under -icount are byte-identical.
@Suite("SMP: the kernel on several CPUs under the real QEMU", .serialized)
struct SMPBootSystemTests {
    /// Boots on `cpus` CPUs with `append` and returns the serial output once QEMU powered off.
    func boot(cpus: Int, append: String? = nil, icountShift: Int? = nil) throws -> String {
        var configuration = QEMUConfiguration(kernel: try Tools.kernelImage())
        configuration.append = append
        configuration.icountShift = icountShift
        configuration.smp = cpus
        let qemu = try QEMUInstance(configuration)
        defer { qemu.stop() }
        let status = try qemu.waitForExit(timeout: 90)
        let output = qemu.outputText
        #expect(status == 0, "QEMU must exit by PSCI power-off; output:\n\(output)")
        return output
    }

    func testLines(_ output: String) -> [Substring] { output.split(separator: "\n").filter { $0.hasPrefix("[TEST] ") } }

    /// "[INIT] free pages before=N after=N no leak".
    func expectNoLeak(_ output: String) throws {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("[INIT] free pages before=") }, "\(output)")
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.count == 2 && numbers[0] == numbers[1] && numbers[0] > 0, "\(line)")
    }

    @Test func fourCPUsStartAndTheSMPScenariosPassWithoutALeak() throws {
        let output = try boot(cpus: 4, append: "tests=smp", icountShift: 4)
        #expect(output.contains("[BOOT] cpus: 4 online\n"), "\(output)")
        #expect(testLines(output) == ["[TEST] forkstorm ok", "[TEST] brkstorm ok", "[TEST] oomstorm ok", "[TEST] fork1000 ok"],
                "\(output)")
        // oomstorm ran the pool dry under contention: the kernel named each OOM kill.
        #expect(output.contains(MM_MARK_OOM), "\(output)")
        #expect(output.contains("[INIT] summary: 4 passed, 0 failed, 4 run"))
        try expectNoLeak(output)
    }

    /// The default scenarios on two CPUs: tablefull counts one idle task per CPU.
    @Test func theDefaultScenariosPassOnTwoCPUs() throws {
        let output = try boot(cpus: 2, append: "tests=fork,preempt,sleep,tablefull,oompool", icountShift: 4)
        #expect(output.contains("[BOOT] cpus: 2 online\n"), "\(output)")
        #expect(output.contains("[INIT] summary: 5 passed, 0 failed, 5 run"), "\(output)")
        try expectNoLeak(output)
    }

    /// One CPU: no SMP line, the boot reads as it always did.
    @Test func oneCPUPrintsNoCPULine() throws {
        let output = try boot(cpus: 1, append: "tests=brk", icountShift: 4)
        #expect(!output.contains("[BOOT] cpus:"), "\(output)")
        #expect(output.contains("[INIT] summary: 1 passed, 0 failed, 1 run"), "\(output)")
    }

    /// Fault scenarios on -smp 2 under -icount (QEMU runs the vCPUs round robin on one thread):
    /// five runs print the same bytes.
    @Test func twoCPUFaultRunsUnderIcountAreByteIdentical() throws {
        let append = "tests=wild,stackoverflow,oom,forkstorm,oomstorm"
        let first = try boot(cpus: 2, append: append, icountShift: 4)
        #expect(first.contains("[INIT] summary: 5 passed, 0 failed, 5 run"), "\(first)")
        for run in 2...5 {
            let again = try boot(cpus: 2, append: append, icountShift: 4)
            #expect(again == first, "run \(run) differs")
        }
    }
}
