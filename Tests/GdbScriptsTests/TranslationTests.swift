import Foundation
import KernelABI
import Testing

/// One line of `mm-pt --raw`: START END PA ATTRS (END exclusive).
struct RawRun: Equatable, CustomStringConvertible {
    let start: UInt64, end: UInt64, pa: UInt64, attributes: String

    init?(line: Substring) {
        let words = line.split(separator: " ")
        guard words.count == 4, let start = hexValue(words[0]), let end = hexValue(words[1]),
              let pa = hexValue(words[2]), start < end else { return nil }
        self.start = start; self.end = end; self.pa = pa; self.attributes = String(words[3])
    }

    var description: String { String(format: "0x%llx-0x%llx -> 0x%llx %@", start, end, pa, attributes) }
}

/// Parses `mm-pt --raw` output; every non-empty line must be a run.
func rawRuns(_ output: String) -> [RawRun]? {
    var runs: [RawRun] = []
    for line in output.split(separator: "\n") where !line.isEmpty {
        guard let run = RawRun(line: line) else { return nil }
        runs.append(run)
    }
    return runs
}

/// The PA on the `PA 0x...` line of mm-vtop, nil when it reported no mapping.
func vtopPhysicalAddress(_ output: String) -> UInt64? {
    output.split(separator: "\n").last(where: { $0.hasPrefix("PA 0x") }).flatMap { hexValue($0.dropFirst(3)) }
}

/// QEMU's own translation: `gpa: 0x...` (`gpa: 0` for zero, printed with `%#`), or
/// .some(nil) for `Unmapped`; nil when the monitor said neither.
func gva2gpaPhysicalAddress(_ output: String) -> UInt64?? {
    if output.contains("Unmapped") { return .some(nil) }
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("gpa: ") }),
          let pa = hexValue(line.dropFirst(5)) else { return nil }
    return .some(pa)
}

/// Where a test stops the kernel, and how it was booted.
struct KernelStop: Sendable, CustomStringConvertible {
    var setup: [String]
    var append: String? = nil

    /// `main`: the MMU is on with boot.S's tables (1 GiB blocks).
    static let main = KernelStop(setup: ["break *main", "continue"])
    /// The memory self-test's first TTBR0 switch: the kernel's own TTBR1 tables are live
    /// (the bring-up printed "[BOOT] linear map ok: ..., tables=N" just before).
    static func kernelTables(append: String? = nil) -> KernelStop {
        KernelStop(setup: ["break *mm_write_ttbr0", "continue", "delete"], append: append)
    }
    /// The first data abort: the kernel's own TTBR1 tables and a user task's TTBR0.
    static func firstDataAbort(append: String? = nil) -> KernelStop {
        KernelStop(setup: ["break do_data_abort", "continue", "delete"], append: append)
    }

    var description: String { "\(setup.first ?? "") \(append ?? "")" }

    /// Boots, stops here, runs `commands`.
    func run(_ commands: [String], extraSetup: [String] = []) throws -> GdbTranscript {
        let target = try KernelUnderGdb(append: append)
        defer { target.stop() }
        return try target.gdb(setup: setup + extraSetup, commands)
    }
}

/// Translates every VA with mm-vtop and with `monitor gva2gpa` at `stop` (one boot); both must
/// agree, and with `expected(va)` when given (nil = unmapped).
func expectVtopAgreesWithQEMU(_ vas: [UInt64], at stop: KernelStop, expected: ((UInt64) -> UInt64?)? = nil) throws {
    let commands = vas.flatMap { va in [String(format: "mm-vtop 0x%llx", va), GdbBatch.monitor(String(format: "gva2gpa 0x%llx", va))] }
    let transcript = try stop.run(commands)
    try #require(transcript.outputs.count == commands.count, "\(transcript.all)")
    var mapped = 0
    for (index, va) in vas.enumerated() {
        let hexVA = "0x" + String(va, radix: 16)
        let ours = vtopPhysicalAddress(transcript.outputs[2 * index])
        let qemuAnswer = gva2gpaPhysicalAddress(transcript.outputs[2 * index + 1])
        let theirs = try #require(qemuAnswer, "gva2gpa gave no answer for \(hexVA):\n\(transcript.all)")
        #expect(ours == theirs, "VA \(hexVA): mm-vtop \(ours.map { String($0, radix: 16) } ?? "unmapped"), gva2gpa \(theirs.map { String($0, radix: 16) } ?? "unmapped")\n\(transcript.outputs[2 * index])")
        if let expected {
            #expect(ours == expected(va), "VA \(hexVA): mm-vtop disagrees with its own dump:\n\(transcript.outputs[2 * index])")
        }
        if theirs != nil { mapped += 1 }
    }
    #expect(mapped > 0, "no VA was mapped at all:\n\(transcript.all)")
}

/// Dumps the kernel half at `stop` and checks the first and last byte of every run (and the
/// byte after a run that no other run continues) with mm-vtop and with QEMU's gva2gpa.
/// Two boots; returns the runs, the human dump and the serial output of the first boot.
@discardableResult
func expectKernelRunsAgreeWithQEMU(at stop: KernelStop) throws -> (runs: [RawRun], dump: String, serial: String) {
    let target = try KernelUnderGdb(append: stop.append)
    defer { target.stop() }
    let dump = try target.gdb(setup: stop.setup, ["mm-pt kernel --raw", "mm-pt kernel"])
    try #require(dump.outputs.count == 2, "\(dump.all)")
    let runs = try #require(rawRuns(dump.outputs[0]), "mm-pt --raw printed something else:\n\(dump.all)")
    try #require(!runs.isEmpty, "no runs in the kernel half:\n\(dump.all)")
    // The linear map holds the kernel image, executable at EL1, and the UART, device memory.
    let kernelVA: UInt64 = MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA
    let image = try #require(runs.first { $0.start <= kernelVA && kernelVA < $0.end }, "\(runs)")
    #expect(image.pa + (kernelVA - image.start) == MM_KERNEL_LOAD_PA)
    #expect(image.attributes.hasPrefix("k:r") && image.attributes.contains("x,u:"), "\(image)")
    let uartVA = MM_LINEAR_MAP_BASE + 0x0900_0000
    let uart = try #require(runs.first { $0.start <= uartVA && uartVA < $0.end }, "\(runs)")
    #expect(uart.attributes.contains("device-nGnRnE"), "\(uart)")
    for (previous, next) in zip(runs, runs.dropFirst()) {
        #expect(previous.end <= next.start, "runs overlap or are out of order: \(previous) / \(next)")
    }
    var samples: [UInt64] = []
    for run in runs.prefix(40) {
        samples += [run.start, run.end - 1]
        if !runs.contains(where: { $0.start == run.end }) && run.end != 0 { samples.append(run.end) }
    }
    try expectVtopAgreesWithQEMU(samples, at: stop) { va in
        runs.first { $0.start <= va && va < $0.end }.map { $0.pa + (va - $0.start) }
    }
    return (runs, dump.outputs[1], target.qemu.outputText)
}

@Suite("mm-vtop and mm-pt agree with QEMU's translation", .serialized)
struct TranslationSystemTests {
    func atMain(_ commands: [String]) throws -> GdbTranscript { try KernelStop.main.run(commands) }

    func expectAgreement(_ vas: [UInt64]) throws { try expectVtopAgreesWithQEMU(vas, at: .main) }

    @Test func vtopMatchesGva2gpaOnBothHalves() throws {
        try expectAgreement([
            0xFFFF_0000_0000_0000, 0xFFFF_0000_0900_0000, 0xFFFF_0000_0900_0018,   // linear map start, UART
            0xFFFF_0000_4000_0000, 0xFFFF_0000_4008_0000, 0xFFFF_0000_4008_1234,   // RAM, kernel image
            0xFFFF_0000_4009_C000, 0xFFFF_0000_47FF_FFF8, 0xFFFF_0000_7FFF_F000,   // bss, end of RAM, end of map
            0xFFFF_0000_8000_0000, 0xFFFF_8000_0000_0000, 0xFFFF_FFFF_FFFF_F000,   // beyond the map
            0x0, 0x4008_0abc, 0x7FFF_FFFF, 0x8000_0000, 0x0000_FFFF_FFFF_0000,    // TTBR0 half
            0x5A00_0000_4008_0000, 0x5AFF_0000_4008_0010,                         // tagged (TBI0/TBI1)
        ])
    }

    @Test func kernelHalfRunsAgreeWithGva2gpaAtTheirEdges() throws {
        try expectKernelRunsAgreeWithQEMU(at: .main)
    }

    /// mm-pt finds the tables the kernel says it built, for 2 MiB blocks and for the
    /// page-granular linear map, and its runs agree with QEMU.
    @Test(arguments: [nil, "linear=pages"])
    func kernelTablesAreTheOnesTheKernelBuilt(append: String?) throws {
        let (runs, dump, serial) = try expectKernelRunsAgreeWithQEMU(at: .kernelTables(append: append))
        let summary = try #require(dump.split(separator: "\n").last, "\(dump)")
        let announced = try #require(serial.split(separator: "\n").first { $0.hasPrefix(MM_BOOT_LINEAR_MAP_OK) }, "\(serial)")
        let tables = try #require(announced.split(separator: "tables=").last.flatMap { Int($0) }, "\(announced)")
        #expect(summary.contains("; tables \(tables) ("), "kernel: \(announced)\nmm-pt: \(summary)")
        // With blocks, only the 2 MiB holding the kernel image is mapped with pages (W^X inside it).
        #expect(summary.contains(append == nil ? "pages 512;" : "pages 32768;"), "\(summary)")
        // All of RAM is linearly mapped from its base.
        let ram = try #require(runs.first { $0.start == MM_LINEAR_MAP_BASE + MM_RAM_BASE }, "\(runs)")
        #expect(ram.pa == MM_RAM_BASE)
    }

    @Test func ptFiltersSelectTheMatchingRuns() throws {
        let transcript = try atMain(["mm-pt kernel --raw", "mm-pt kernel --raw --exec", "mm-pt kernel --raw --writable",
                                     "mm-pt kernel --raw --from 0xffff000040000000 --to 0xffff000040200000",
                                     "mm-pt kernel --raw --user", "mm-pt kernel", "mm-pt kernel --bogus",
                                     "mm-pt kernel --raw --kernel-only", "mm-pt kernel --raw --range 0xffff000040000000 0xffff000040200000"])
        try #require(transcript.outputs.count == 9, "\(transcript.all)")
        let all = try #require(rawRuns(transcript.outputs[0]))
        let executable = try #require(rawRuns(transcript.outputs[1]))
        let writable = try #require(rawRuns(transcript.outputs[2]))
        let ranged = try #require(rawRuns(transcript.outputs[3]))
        #expect(!executable.isEmpty && executable.count <= all.count)
        #expect(executable.allSatisfy { $0.attributes.contains("x,u:") || $0.attributes.range(of: "u:..x", options: .regularExpression) != nil })
        #expect(!executable.contains { $0.attributes.contains("device") }, "device memory is never executable here: \(executable)")
        #expect(writable.allSatisfy { $0.attributes.hasPrefix("k:rw") || $0.attributes.range(of: "u:.w", options: .regularExpression) != nil })
        #expect(!ranged.isEmpty && ranged.allSatisfy { $0.end > 0xFFFF_0000_4000_0000 && $0.start < 0xFFFF_0000_4020_0000 }, "\(ranged)")
        // --user (EL0 can read or execute) and --kernel-only (EL1 only) split the leaves between them.
        let user = try #require(rawRuns(transcript.outputs[4]))
        let kernelOnly = try #require(rawRuns(transcript.outputs[7]))
        #expect(user.allSatisfy { !$0.attributes.contains("u:---") }, "\(user)")
        #expect(kernelOnly.allSatisfy { $0.attributes.contains("u:---") }, "\(kernelOnly)")
        #expect(Set(user.map(\.start) + kernelOnly.map(\.start)) == Set(all.map(\.start)), "\(user) + \(kernelOnly) vs \(all)")
        // The human form names the table base, the granule and the statistics.
        #expect(transcript.outputs[5].contains("TTBR1_EL1 table 0x") && transcript.outputs[5].contains("4K granule"))
        #expect(transcript.outputs[5].contains("\(all.count) runs;"), "\(transcript.outputs[5])")
        #expect(transcript.stderr.contains("unknown option --bogus"), "\(transcript.stderr)")
        // The old spelling is gone: mm-pt takes mmdbg's --from/--to.
        #expect(transcript.outputs[8].isEmpty && transcript.stderr.contains("unknown option --range"), "\(transcript.all)")
    }
}
