import Foundation
import GdbRemote
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// Kernel views read through Inspect's `GdbMemorySource` inside one
    /// physical-memory scope per command: QEMU's PhyMemMode is switched on once
    /// for a whole `vtop`, not once per table level.
    @Suite("mmdbg kernel views inside one physical-memory scope")
    struct PhysicalScopeTests {
        @Test func vtopSwitchesPhysicalModeOnceForTheWholeWalk() throws {
            let kernel = try Tools.kernelImage()
            let qemu = try QEMUInstance(.stoppedForDebugger(kernel: kernel))
            defer { qemu.stop() }
            let session = Session()
            defer { session.end() }
            session.connection.directMemory = false  // this is about the stub's physical mode
            try session.attachLaunched(qemu, elf: kernel)
            for line in ["break map_page", "continue"] {
                let result = session.execute(line: line)
                try #require(result.succeeded, "\(line): \(String(describing: result.error))")
            }
            let client = try #require((session.target as? GdbTarget)?.client)
            let vtop = session.execute(line: "vtop map_page")
            try #require(vtop.succeeded, "vtop: \(String(describing: vtop.error))")
            guard case .success(let output) = vtop.outcome, case .object(let fields) = output.json,
                  case .array(let steps)? = fields.first(where: { $0.0 == "steps" })?.1 else {
                Issue.record("vtop gave \(vtop.outcome)")
                return
            }
            try #require(steps.count >= 2, "the kernel's tables have several levels: \(steps)")
            // The client's ring of recent packets ends with the walk: every table read
            // must come after the one switch into physical mode, one table per level.
            let packets = client.recentPackets
            let sent = packets.filter { $0.hasPrefix("-> ") }.map { $0.dropFirst(3) }
            let switches = sent.indices.filter { sent[$0] == "Qqemu.PhyMemMode:1" }
            let reads = sent.indices.filter { sent[$0].hasPrefix("m") }
            #expect(switches.count == 1, "one switch into physical mode for the walk; packets:\n\(packets.joined(separator: "\n"))")
            #expect(reads.allSatisfy { $0 > (switches.first ?? .max) }, "every level read inside that scope")
            let tablePages = Set(reads.compactMap { UInt64(sent[$0].dropFirst().prefix { $0 != "," }, radix: 16).map { $0 >> 12 } })
            #expect(tablePages.count == steps.count, "one table read per level: \(tablePages.count) tables, \(steps.count) levels")
        }
    }
}
