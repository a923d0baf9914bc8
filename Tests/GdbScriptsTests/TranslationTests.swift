import Foundation
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

@Suite("mm-vtop and mm-pt agree with QEMU's translation", .serialized)
struct TranslationTests {
    /// Stops the kernel at `main` (MMU on, boot tables live) and runs `commands`.
    func atMain(_ commands: [String]) throws -> GdbTranscript {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        return try target.gdb(setup: ["break *main", "continue"], commands)
    }

    /// Translates every VA with mm-vtop and with `monitor gva2gpa`; both must agree.
    func expectAgreement(_ vas: [UInt64]) throws {
        let commands = vas.flatMap { va in [String(format: "mm-vtop 0x%llx", va), GdbBatch.monitor(String(format: "gva2gpa 0x%llx", va))] }
        let transcript = try atMain(commands)
        try #require(transcript.outputs.count == commands.count, "\(transcript.all)")
        var mapped = 0
        for (index, va) in vas.enumerated() {
            let ours = vtopPhysicalAddress(transcript.outputs[2 * index])
            let qemuAnswer = gva2gpaPhysicalAddress(transcript.outputs[2 * index + 1])
            let theirs = try #require(qemuAnswer, "gva2gpa gave no answer for 0x\(String(va, radix: 16)):\n\(transcript.all)")
            #expect(ours == theirs, "VA 0x\(String(va, radix: 16)): mm-vtop \(ours.map { String($0, radix: 16) } ?? "unmapped"), gva2gpa \(theirs.map { String($0, radix: 16) } ?? "unmapped")\n\(transcript.outputs[2 * index])")
            if theirs != nil { mapped += 1 }
        }
        #expect(mapped > 0, "no VA was mapped at all:\n\(transcript.all)")
    }

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
        let dump = try atMain(["mm-pt kernel --raw"])
        let output = try #require(dump.outputs.first, "\(dump.all)")
        let runs = try #require(rawRuns(output), "mm-pt --raw printed something else:\n\(output)")
        try #require(!runs.isEmpty, "no runs in the kernel half:\n\(dump.all)")
        // The linear map holds the kernel image, executable at EL1, and the UART, device memory.
        let kernelVA: UInt64 = 0xFFFF_0000_4008_0000
        let image = try #require(runs.first { $0.start <= kernelVA && kernelVA < $0.end }, "\(runs)")
        #expect(image.pa + (kernelVA - image.start) == 0x4008_0000)
        #expect(image.attributes.hasPrefix("k:r") && image.attributes.contains("x,u:"), "\(image)")
        let uart = try #require(runs.first { $0.start <= 0xFFFF_0000_0900_0000 && 0xFFFF_0000_0900_0000 < $0.end }, "\(runs)")
        #expect(uart.attributes.contains("device-nGnRnE"), "\(uart)")
        for (previous, next) in zip(runs, runs.dropFirst()) {
            #expect(previous.end <= next.start, "runs overlap or are out of order: \(previous) / \(next)")
        }
        // First and last byte of every run translate as the run says; the byte after a run
        // that no other run starts at is unmapped.
        var samples: [UInt64] = []
        for run in runs.prefix(40) {
            samples += [run.start, run.end - 1]
            if !runs.contains(where: { $0.start == run.end }) && run.end != 0 { samples.append(run.end) }
        }
        try expectAgreement(samples)
        let vtops = try atMain(samples.map { String(format: "mm-vtop 0x%llx", $0) })
        for (va, output) in zip(samples, vtops.outputs) {
            let run = runs.first { $0.start <= va && va < $0.end }
            #expect(vtopPhysicalAddress(output) == run.map { $0.pa + (va - $0.start) },
                    "VA 0x\(String(va, radix: 16)) against run \(String(describing: run)):\n\(output)")
        }
    }

    @Test func ptFiltersSelectTheMatchingRuns() throws {
        let transcript = try atMain(["mm-pt kernel --raw", "mm-pt kernel --raw --exec", "mm-pt kernel --raw --writable",
                                     "mm-pt kernel --raw --range 0xffff000040000000 0xffff000040200000",
                                     "mm-pt kernel --raw --user", "mm-pt kernel", "mm-pt kernel --bogus",
                                     "mm-pt kernel --raw --kernel"])
        try #require(transcript.outputs.count == 8, "\(transcript.all)")
        let all = try #require(rawRuns(transcript.outputs[0]))
        let executable = try #require(rawRuns(transcript.outputs[1]))
        let writable = try #require(rawRuns(transcript.outputs[2]))
        let ranged = try #require(rawRuns(transcript.outputs[3]))
        #expect(!executable.isEmpty && executable.count <= all.count)
        #expect(executable.allSatisfy { $0.attributes.contains("x,u:") || $0.attributes.range(of: "u:..x", options: .regularExpression) != nil })
        #expect(!executable.contains { $0.attributes.contains("device") }, "device memory is never executable here: \(executable)")
        #expect(writable.allSatisfy { $0.attributes.hasPrefix("k:rw") || $0.attributes.range(of: "u:.w", options: .regularExpression) != nil })
        #expect(!ranged.isEmpty && ranged.allSatisfy { $0.end > 0xFFFF_0000_4000_0000 && $0.start < 0xFFFF_0000_4020_0000 }, "\(ranged)")
        // --user (EL0 can read or execute) and --kernel (EL1 only) split the leaves between them.
        let user = try #require(rawRuns(transcript.outputs[4]))
        let kernelOnly = try #require(rawRuns(transcript.outputs[7]))
        #expect(user.allSatisfy { !$0.attributes.contains("u:---") }, "\(user)")
        #expect(kernelOnly.allSatisfy { $0.attributes.contains("u:---") }, "\(kernelOnly)")
        #expect(Set(user.map(\.start) + kernelOnly.map(\.start)) == Set(all.map(\.start)), "\(user) + \(kernelOnly) vs \(all)")
        // The human form names the table base, the granule and the statistics.
        #expect(transcript.outputs[5].contains("TTBR1_EL1 table 0x") && transcript.outputs[5].contains("4K granule"))
        #expect(transcript.outputs[5].contains("\(all.count) runs;"), "\(transcript.outputs[5])")
        #expect(transcript.stderr.contains("unknown option --bogus"), "\(transcript.stderr)")
    }
}
