import Foundation
import Testing
import TestSupport

/// `mm-cpus` (issue 19) on the SMP kernel: one row per CPU the kernel started, its PC
/// the one gdb's own `info registers pc` gives for that thread.
@Suite("mm-cpus on the real kernel, -smp 2", .serialized)
struct CPUViewSystemTests {
    @Test func mmCpusListsEveryCPUWithItsThreadsPC() throws {
        let target = try KernelUnderGdb(append: "tests=forkstorm", icountShift: 4, cpus: 2)
        defer { target.stop() }
        let transcript = try target.gdb(setup: ["break copy_process", "continue", "continue", "delete"],
                                        ["mm-cpus", "thread 1", "info registers pc", "thread 2", "info registers pc"])
        try #require(transcript.outputs.count == 5, "\(transcript.all)")
        let rows = transcript.outputs[0].split(separator: "\n").filter { $0.first?.isNumber == true && !$0.hasSuffix(" cpus") }
        try #require(rows.count == 2, "\(transcript.outputs[0])")
        #expect(transcript.outputs[0].hasSuffix("2 cpus\n"), "\(transcript.outputs[0])")
        for (index, row) in rows.enumerated() {
            let fields = row.split(separator: " ", omittingEmptySubsequences: true)
            #expect(fields.first == Substring(String(index)))
            #expect(["idle", "busy"].contains(String(fields[1])), "\(row)")
            let gdbPC = transcript.outputs[2 + 2 * index].split(separator: " ", omittingEmptySubsequences: true)
                .dropFirst().first.flatMap(hexValue)
            let mmPC = fields.first { $0.hasPrefix("0xffff") }.flatMap(hexValue)
            #expect(gdbPC != nil && gdbPC == mmPC, "row \(row) vs \(transcript.outputs[2 + 2 * index])")
        }
        #expect(rows.contains { $0.contains(" busy ") }, "the stop is in copy_process: some CPU runs a task")
    }
}
