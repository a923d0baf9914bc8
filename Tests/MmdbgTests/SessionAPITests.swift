import Foundation
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// `Session.execute(line:)` without a terminal, as scenario files use it.
    @Suite("MmdbgCore session API against the real QEMU")
    struct SessionAPITests {
        @Test func executeLinesAndEndKillsTheLaunchedQEMU() throws {
            let kernel = try Tools.kernelImage()
            let qemu = try QEMUInstance(.stoppedForDebugger(kernel: kernel))
            defer { qemu.stop() }
            let session = Session()
            try session.attachLaunched(qemu, elf: kernel)
            #expect(session.state.prompt.hasPrefix("(mmdbg stopped at _start_phys"))
            let lines = ["# scenario files may comment", "break *map_page", "continue", "vtop $pc", "frobnicate"]
            let results = lines.map(session.execute(line:))
            #expect(results.map(\.succeeded) == [true, true, true, true, false])
            #expect(results[0].command == nil, "a comment runs nothing")
            #expect(session.state.summary == "stopped at map_page")
            guard case .success(let vtop) = results[3].outcome, case .object(let fields) = vtop.json else {
                Issue.record("vtop gave \(results[3].outcome)")
                return
            }
            #expect(fields.first { $0.0 == "mapped" }?.1 == .bool(true))
            #expect(session.breakpoints.entries.map(\.hits) == [1])
            session.end()
            #expect(!qemu.isRunning, "end() kills the QEMU the session launched")
        }
    }
}
