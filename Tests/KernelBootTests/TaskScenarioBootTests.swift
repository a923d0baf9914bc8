import Testing
import Foundation
import KernelABI
import QEMULauncher
import TestSupport

/// Boots the real kernel under the real QEMU and reads what init and the
/// kernel print: one `[TEST] <name> ok|FAIL` line per scenario, one
/// `[KERN] <kind> at 0x…` line per fault, init's summary and leak check,
/// and the power-off.
@Suite("Kernel part 2: EL0 scenarios under the real QEMU", .serialized)
struct TaskScenarioBootSystemTests {
    /// Every scenario init knows, in run order, with the fault lines it must
    /// provoke, in order (empty: the scenario must not fault at all).
    static let scenarios: [(name: String, faults: [String])] = [
        ("brk", [MM_MARK_INVALID_UVA]),            // a read of the shrunk page, from a grandchild
        ("fork", [MM_MARK_PERM_FAULT + "400000",   // text still read-only in a grandchild
                  MM_MARK_EXEC_FAULT + "10000000"]), // heap still execute-never in a grandchild
        ("demand", []),
        ("wild", [MM_MARK_INVALID_UVA + "deadbeef000"]),
        ("stackoverflow", [MM_MARK_STACK_OVERFLOW]),
        ("texthole", [MM_MARK_TEXT_FAULT]),
        ("heapexec", [MM_MARK_EXEC_FAULT + "10000000"]),
        ("textstore", [MM_MARK_PERM_FAULT + "400000"]),
        ("undef", [MM_MARK_EL0_SYNC + "0 at 0x"]),
        ("misalignedpc", [MM_MARK_EL0_SYNC + "22 at 0x400002"]),
        ("fpsimd", [MM_MARK_EL0_SYNC + "7 at 0x"]),
        ("sysreg", [MM_MARK_EL0_SYNC + "18 at 0x"]),
        ("wildsyscall", []),
        ("oom", [MM_MARK_OOM]),
        ("preempt", []),
        ("sleep", []),
        ("tablefull", []),
        ("oompool", [MM_MARK_OOM]),
        ("kernelread", [MM_MARK_PERM_FAULT + "ffff000040200000"]),
    ]

    /// Boots with `append` as the kernel command line and returns the
    /// serial output once QEMU has powered itself off.
    func boot(append: String? = nil, icountShift: Int? = nil) throws -> String {
        var configuration = QEMUConfiguration(kernel: try Tools.kernelImage())
        configuration.append = append
        configuration.icountShift = icountShift
        let qemu = try QEMUInstance(configuration)
        defer { qemu.stop() }
        let status = try qemu.waitForExit(timeout: 60)
        let output = qemu.outputText
        #expect(status == 0, "QEMU must exit by PSCI power-off; output:\n\(output)")
        return output
    }

    func lines(_ output: String) -> [Substring] { output.split(separator: "\n") }

    /// The [TEST] line of `name` and the [KERN] lines printed while that
    /// scenario ran (after the previous [TEST] line).
    func scenarioBlock(_ name: String, in output: String) -> (test: Substring?, faults: [Substring]) {
        var faults: [Substring] = []
        for line in lines(output) {
            if line.hasPrefix("[KERN] ") { faults.append(line) }
            if line.hasPrefix("[TEST] ") {
                if line.hasPrefix("[TEST] \(name) ") { return (line, faults) }
                faults = []
            }
        }
        return (nil, [])
    }

    @Test func fullRunPassesEveryScenarioWithItsFaultLineAndNoLeak() throws {
        let output = try boot()
        let testLines = lines(output).filter { $0.hasPrefix("[TEST] ") }
        #expect(testLines.count == Self.scenarios.count, "one [TEST] line per scenario:\n\(output)")
        for (name, faults) in Self.scenarios {
            let block = scenarioBlock(name, in: output)
            #expect(block.test == "[TEST] \(name) ok", "scenario \(name):\n\(output)")
            #expect(block.faults.count == faults.count, "\(name): expected \(faults.count) [KERN] line(s), got \(block.faults)")
            for (line, prefix) in zip(block.faults, faults) {
                #expect(line.hasPrefix(prefix), "\(name): expected \(prefix)…, got \(line)")
            }
        }
        #expect(output.contains("[INIT] summary: \(Self.scenarios.count) passed, 0 failed, \(Self.scenarios.count) run"))
        #expect(output.contains("[TASK] init exited with code 0"))
        #expect(output.contains("[BOOT] power off"))
        try expectNoLeak(output)
    }

    @Test func everyFaultMarkerKindAppears() throws {
        let output = try boot()
        let markers = [MM_MARK_OOM, MM_MARK_STACK_OVERFLOW, MM_MARK_TEXT_FAULT, MM_MARK_INVALID_UVA,
                       MM_MARK_PERM_FAULT, MM_MARK_EXEC_FAULT, MM_MARK_EL0_SYNC]
        for marker in markers {
            #expect(lines(output).contains { $0.hasPrefix(marker) }, "missing \(marker)…:\n\(output)")
        }
        // Every [KERN] line is a complete marker line: kind, "at 0x", hex.
        for line in lines(output) where line.hasPrefix("[KERN] ") {
            #expect(line.range(of: #"^\[KERN\] [a-zA-Z0-9 =]+ at 0x[0-9a-f]+$"#, options: .regularExpression) != nil,
                    "malformed marker line: \(line)")
        }
        #expect(!output.contains("[PANIC]"))
    }

    @Test func aSingleScenarioBootsAlone() throws {
        let output = try boot(append: "tests=wild")
        let testLines = lines(output).filter { $0.hasPrefix("[TEST] ") }
        #expect(testLines == ["[TEST] wild ok"], "\(output)")
        let faults = lines(output).filter { $0.hasPrefix("[KERN] ") }
        #expect(faults == ["\(MM_MARK_INVALID_UVA)deadbeef000"])
        #expect(output.contains("[INIT] summary: 1 passed, 0 failed, 1 run"))
        try expectNoLeak(output)
        #expect(output.contains("[BOOT] power off"))
    }

    @Test func selectionKeepsOrderAndReportsUnknownNames() throws {
        let output = try boot(append: "tests=sleep,nosuch,brk")
        let testLines = lines(output).filter { $0.hasPrefix("[TEST] ") }
        #expect(testLines == ["[TEST] sleep ok", "[TEST] nosuch FAIL (unknown scenario)", "[TEST] brk ok"], "\(output)")
        #expect(output.contains("[INIT] summary: 2 passed, 1 failed, 3 run"))
        #expect(output.contains("[TASK] init exited with code 1"), "a failed scenario fails init")
        #expect(output.contains("[BOOT] power off"))
    }

    /// Under -icount the whole run, preemption and sleeps included, is a
    /// function of the instruction count: two boots print the same bytes
    /// (what fault-injection replay relies on).
    @Test func icountRunsAreIdentical() throws {
        let first = try boot(icountShift: 4)
        let second = try boot(icountShift: 4)
        #expect(first.contains("[INIT] summary: \(Self.scenarios.count) passed, 0 failed"), "\(first)")
        #expect(first == second)
    }

    /// "[INIT] free pages before=N after=M no leak" with N == M.
    func expectNoLeak(_ output: String) throws {
        let line = try #require(lines(output).first { $0.hasPrefix("[INIT] free pages before=") }, "\(output)")
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(numbers.count == 2 && numbers[0] == numbers[1] && numbers[0] > 0, "\(line)")
        #expect(line.hasSuffix(" no leak"))
    }
}
