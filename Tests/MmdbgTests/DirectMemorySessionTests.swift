import Foundation
import GdbRemote
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// The session reads guest RAM straight from the launched QEMU's RAM file
    /// while the target is stopped, says so in `status`, and never serves a
    /// value from before a resume.
    @Suite("mmdbg reads guest RAM directly from the QEMU it launched")
    struct DirectMemorySessionTests {
        func field(_ result: CommandResult, _ key: String) -> JSONValue? {
            guard case .success(let output) = result.outcome, case .object(let fields) = output.json else { return nil }
            return fields.first { $0.0 == key }?.1
        }

        @Test func statusNamesTheDirectPathAndReadsMatchTheStubAtEveryStop() throws {
            let kernel = try Tools.kernelImage()
            let qemu = try QEMUInstance(.stoppedForDebugger(kernel: kernel))
            defer { qemu.stop() }
            let session = Session()
            defer { session.end() }
            try session.attachLaunched(qemu, elf: kernel)
            #expect(field(session.execute(line: "status"), "memory") == .string("direct (mmap)"))
            let target = try #require(session.target as? GdbTarget)
            #expect(target.directMemory.readsDirectly)
            let pool = try #require(session.symbols?.address(of: "mm_pool"))
            let physicalPool = pool &- 0xFFFF_0000_0000_0000  // the kernel's linear map: VA = PA + 0xffff000000000000
            var seen: Set<[UInt8]> = []
            for line in ["break get_free_page", "continue", "continue", "delete", "break exit_process", "continue"] {
                let result = session.execute(line: line)
                try #require(result.succeeded, "\(line): \(String(describing: result.error))")
                guard line == "continue" else { continue }
                // The pool's counters change between stops; direct and stub agree at each one.
                let direct = try target.readMemory(at: physicalPool, count: 64, physical: true)
                let stub = try target.client.qemu.readPhysicalMemory(at: physicalPool, count: 64)
                #expect(direct == stub, "direct read of mm_pool at \(Hex.format(physicalPool)) differs from the stub's")
                seen.insert(direct)
                #expect(target.directMemory.readsDirectly)
            }
            #expect(seen.count >= 2, "the pool changed between stops, and the direct read saw it")
            // The kernel views run on the direct path too.
            let tasks = session.execute(line: "tasks")
            #expect(tasks.succeeded, "\(String(describing: tasks.error))")
            #expect(target.directMemory.directBatches > 0)
        }

        @Test func gdbstubOnlyIsHonoured() throws {
            let kernel = try Tools.kernelImage()
            let qemu = try QEMUInstance(.stoppedForDebugger(kernel: kernel))
            defer { qemu.stop() }
            let session = Session()
            defer { session.end() }
            session.connection.directMemory = false
            try session.attachLaunched(qemu, elf: kernel)
            #expect(field(session.execute(line: "status"), "memory") == .string("gdbstub (direct reads off (--memory gdbstub))"))
            let target = try #require(session.target as? GdbTarget)
            #expect(!target.directMemory.readsDirectly)
            let before = target.directMemory.stubBatches
            let read = try target.readMemory(at: 0x4000_0000, count: 16, physical: true)
            #expect(read == (try target.client.qemu.readPhysicalMemory(at: 0x4000_0000, count: 16)))
            #expect(target.directMemory.stubBatches == before + 1, "the read went to the stub")
            #expect(target.directMemory.directBatches == 0)
        }
    }
}
