import Foundation
import KernelABI
import QEMULauncher
import Testing
import TestSupport

/// What one debugger saw of the kernel at the smoke test's stop (the first data abort).
struct KernelObservation: Equatable, CustomStringConvertible {
    /// System registers by name, at entry (right after connecting) and at the stop.
    var registersAtEntry: [String: UInt64] = [:]
    var registers: [String: UInt64] = [:]
    /// "pid ppid state name pgd", one per task, by pid.
    var tasks: [String] = []
    /// pid 1's tables as runs "start end pa k:perms u:perms".
    var runs: [String] = []
    /// "VA -> PA|unmapped" through the CPU's tables and through pid 1's mm.pgd.
    var translations: [String] = []

    var description: String {
        ([registersAtEntry, registers].flatMap { $0.sorted { $0.key < $1.key }.map { "\($0.key)=0x\(String($0.value, radix: 16))" } }
            + tasks + runs + translations).joined(separator: "\n")
    }
}

/// The CI smoke test of issue 9: the same questions asked through stock gdb-multiarch with the
/// gdb/ extension and through mmdbg in batch mode, each on its own QEMU; the answers must agree.
@Suite("CI smoke: gdb-multiarch with gdb/ and mmdbg see the same kernel", .serialized)
struct GdbVersusMmdbgSmokeSystemTests {
    static let registers = ["TCR_EL1", "TTBR0_EL1", "TTBR1_EL1", "MAIR_EL1", "SCTLR"]
    /// Text, data, heap, stack, a wild VA, the kernel image and the UART in the linear map.
    static let vas: [UInt64] = [MM_TEXT_BASE, MM_TEXT_BASE + 0x123, MM_DATA_BASE, MM_HEAP_BASE,
                                MM_STACK_TOP - 8, 0xDEAD_BEEF_000,
                                MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA, MM_LINEAR_MAP_BASE + 0x0900_0000]
    /// Both debuggers continue to the kernel's data-abort handler (the first user page fault).
    static let stop = ["break do_data_abort", "continue"]

    /// The mmdbg executable built beside this test bundle (or `$MMDBG_BIN`).
    static func mmdbgExecutable() throws -> String {
        try BuiltProduct.path("mmdbg")
    }

    /// Both QEMUs count instructions (-icount), so timer interrupts and with them the
    /// schedule are the same in both runs.
    static let icountShift = 4

    func startQEMU() throws -> QEMUInstance {
        try QEMUInstance(KernelUnderGdb.configuration(kernel: try Tools.kernelImage(), icountShift: Self.icountShift))
    }

    func throughGdb() throws -> (KernelObservation, String) {
        let target = try KernelUnderGdb(icountShift: Self.icountShift)
        defer { target.stop() }
        let registers = "info registers " + Self.registers.joined(separator: " ")
        let commands = [registers] + Self.stop + [registers, "mm-tasks", "mm-pt 1 --raw"]
            + Self.vas.flatMap { [String(format: "mm-vtop 0x%llx", $0), String(format: "mm-vtop 0x%llx --pid 1", $0)] }
        let transcript = try target.gdb(commands)
        var seen = KernelObservation()
        guard transcript.outputs.count == commands.count else { return (seen, transcript.all) }
        func registerValues(_ output: String) -> [String: UInt64] {
            var values: [String: UInt64] = [:]
            for line in output.split(separator: "\n") {
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                if words.count >= 2, let value = hexValue(words[1]) { values[String(words[0])] = value }
            }
            return values
        }
        seen.registersAtEntry = registerValues(transcript.outputs[0])
        seen.registers = registerValues(transcript.outputs[3])
        let (tasks, runs, first) = (transcript.outputs[4], transcript.outputs[5], 6)
        for row in tasks.split(separator: "\n").dropFirst().dropLast() {
            let words = row.dropFirst(2).split(separator: " ")
            if words.count >= 5 { seen.tasks.append("\(words[0]) \(words[1]) \(words[2]) \(words[3]) \(words[4])") }
        }
        seen.runs = (rawRuns(runs) ?? []).map { run in
            let permissions = run.attributes.split(separator: ",").prefix(2).joined(separator: " ")
            return String(format: "0x%llx 0x%llx 0x%llx ", run.start, run.end, run.pa) + permissions
        }
        for (index, va) in Self.vas.enumerated() {
            for (way, output) in [("cpu", transcript.outputs[first + 2 * index]), ("pid1", transcript.outputs[first + 1 + 2 * index])] {
                let pa = vtopPhysicalAddress(output).map { "0x" + String($0, radix: 16) } ?? "unmapped"
                seen.translations.append("\(way) 0x\(String(va, radix: 16)) -> \(pa)")
            }
        }
        return (seen, transcript.all)
    }

    func throughMmdbg() throws -> (KernelObservation, String) {
        let mmdbg = try Self.mmdbgExecutable()
        let qemu = try startQEMU()
        defer { qemu.stop() }
        var arguments = ["attach", qemu.gdbAddress!, "--elf", try Tools.kernelImage(), "--json", "--timeout", "60"]
        let registers = "regs " + Self.registers.joined(separator: " ")
        let commands = [registers] + Self.stop + [registers, "tasks", "pt 1"]
            + Self.vas.flatMap { [String(format: "vtop 0x%llx", $0), String(format: "vtop 0x%llx --pid 1", $0)] }
        for command in commands { arguments += ["-ex", command] }
        let (status, stdout, stderr) = try runProcess(mmdbg, arguments, timeout: 120)
        let all = "--- mmdbg (exit \(status)) stdout ---\n\(stdout)\n--- mmdbg stderr ---\n\(stderr)"
        let documents = stdout.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        var seen = KernelObservation()
        guard documents.count == commands.count else { return (seen, all) }
        let results = documents.map { $0["result"] as? [String: Any] ?? [:] }
        func registerValues(_ result: [String: Any]) -> [String: UInt64] {
            var values: [String: UInt64] = [:]
            for register in result["registers"] as? [[String: Any]] ?? [] {
                if let name = register["name"] as? String,
                   let value = (register["value"] as? String).flatMap({ hexValue(Substring($0)) }) {
                    values[name] = value
                }
            }
            return values
        }
        seen.registersAtEntry = registerValues(results[0])
        seen.registers = registerValues(results[3])
        for task in results[4]["tasks"] as? [[String: Any]] ?? [] {
            seen.tasks.append("\(task["pid"] ?? "?") \(task["ppid"] ?? "?") \(task["state"] ?? "?") \(task["name"] ?? "?") \(task["pgd"] ?? "?")")
        }
        for run in results[5]["runs"] as? [[String: Any]] ?? [] {
            let start = (run["vaStart"] as? String).flatMap { hexValue(Substring($0)) } ?? 0
            let last = (run["vaLast"] as? String).flatMap { hexValue(Substring($0)) } ?? 0
            let pa = (run["paStart"] as? String).flatMap { hexValue(Substring($0)) } ?? 0
            let attributes = run["attributes"] as? [String: Any] ?? [:]
            seen.runs.append(String(format: "0x%llx 0x%llx 0x%llx ", start, last &+ 1, pa)
                             + "k:\(attributes["kernel"] ?? "?") u:\(attributes["user"] ?? "?")")
        }
        for (index, va) in Self.vas.enumerated() {
            for (way, result) in [("cpu", results[6 + 2 * index]), ("pid1", results[7 + 2 * index])] {
                let mapped = result["mapped"] as? Bool ?? false
                let pa = mapped ? (result["pa"] as? String).flatMap { hexValue(Substring($0)) }.map { "0x" + String($0, radix: 16) } ?? "?" : "unmapped"
                seen.translations.append("\(way) 0x\(String(va, radix: 16)) -> \(pa)")
            }
        }
        return (seen, all)
    }

    @Test func bothDebuggersSeeTheSameTasksTablesAndTranslations() throws {
        let (viaGdb, gdbOutput) = try throughGdb()
        let (viaMmdbg, mmdbgOutput) = try throughMmdbg()
        let both = "=== gdb-multiarch + gdb/ ===\n\(viaGdb)\n=== mmdbg ===\n\(viaMmdbg)\n=== raw ===\n\(gdbOutput)\n\(mmdbgOutput)"
        try #require(!viaGdb.tasks.isEmpty && !viaGdb.runs.isEmpty && viaGdb.registers.count == Self.registers.count, "\(both)")
        #expect(viaGdb.registersAtEntry == viaMmdbg.registersAtEntry, "\(both)")
        #expect(viaGdb.registers == viaMmdbg.registers, "\(both)")
        #expect(viaGdb.tasks == viaMmdbg.tasks, "\(both)")
        #expect(viaGdb.runs == viaMmdbg.runs, "\(both)")
        #expect(viaGdb.translations == viaMmdbg.translations, "\(both)")
        #expect(viaGdb.translations.contains { $0.hasSuffix("unmapped") } && viaGdb.translations.contains { !$0.hasSuffix("unmapped") }, "\(both)")
    }
}

/// Runs an executable with a deadline (its process group is killed when it passes); returns status, stdout, stderr.
func runProcess(_ executable: String, _ arguments: [String], timeout: Double) throws -> (Int32, String, String) {
    let result = try ChildProcess.run(executable, arguments, timeout: timeout)
    return (result.status, result.stdout, result.stderr)
}
