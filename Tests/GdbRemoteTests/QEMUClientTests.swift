import Testing
import Foundation
import GdbRemote
import QEMULauncher
import TestSupport

/// The client against the real qemu-system-aarch64 gdbstub, mostly on the tiny
/// assembly guest (deterministic addresses), and on the bundled kernel for
/// memory-vs-ELF and system registers after the MMU is on.
@Suite("Client against the real QEMU gdbstub", .serialized)
struct QEMUClientSystemTests {
    @Test func connectsAndReadsCoreRegistersByName() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        #expect(gdb.features.packetSize == 0x1000)
        #expect(gdb.state == .stopped)
        #expect(try gdb.readRegister("pc") == TinyGuest.entry)
        // EL1h with D, A, I, F masked: QEMU's reset state for a bare-metal image.
        #expect(try gdb.readRegister("cpsr") & 0x3CF == 0x3C5)
        let snapshot = try gdb.readGeneralRegisters()
        #expect(snapshot.registers.count == 34)
        #expect(snapshot["pc"] == TinyGuest.entry)
        #expect(try gdb.readRegisters(["pc", "x9", "sp"]) == [TinyGuest.entry, snapshot["x9"]!, snapshot["sp"]!])
        for name in ["TTBR0_EL1", "TTBR1_EL1", "TCR_EL1", "MAIR_EL1", "SCTLR", "ESR_EL1", "FAR_EL1", "ELR_EL1", "VBAR"] {
            #expect(gdb.registerMap.register(named: name) != nil, "\(name) missing from the register map")
        }
        // MMU off at reset: SCTLR.M (bit 0) is clear.
        #expect(try gdb.readRegister("SCTLR_EL1") & 1 == 0)
        let unknown = #expect(throws: GdbError.self) { try gdb.readRegister("NOPE") }
        #expect(unknown?.kind == .unknownRegister("NOPE"))
    }

    @Test("every register QEMU describes answers p with exactly its declared size")
    func everyDescribedRegisterHasItsDeclaredSize() throws {
        // The client refuses p replies of the wrong size (a hostile stub's); QEMU's must all pass.
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        let registers = gdb.registerMap.registers
        #expect(registers.count > 100, "core, FP/SIMD and system registers")
        #expect(Set(registers.map(\.bitSize)).isSubset(of: [32, 64, 128]))
        for register in registers {
            #expect(try gdb.readRegisterBytes(register.name).count == register.byteSize, "\(register.name)")
        }
    }

    @Test func connectingStopsARunningGuestAndReportsIt() throws {
        let session = try QEMUGdbSession(startStopped: false)
        defer { session.stop() }
        let gdb = session.client
        #expect(gdb.state == .stopped)
        // QEMU stops the VM on connect and says so with an unsolicited T02.
        #expect(gdb.lastStopReason?.signal == StopReason.sigint)
        // Somewhere in the guest's code (a loaded host may not have run much of it yet).
        let pc = try gdb.readRegister("pc")
        #expect((TinyGuest.entry..<TinyGuest.loop + 0x1C).contains(pc), "pc 0x\(String(pc, radix: 16))")
        // Stopped means stopped: the counter does not move between two reads.
        let first = try gdb.readMemory(at: TinyGuest.counter, count: 8)
        Thread.sleep(forTimeInterval: 0.05)
        #expect(try gdb.readMemory(at: TinyGuest.counter, count: 8) == first)
    }

    @Test func systemRegistersAfterTheKernelTurnsTheMMUOn() throws {
        let kernel = try Tools.kernelImage()
        let elf = try ElfImage(path: kernel)
        let session = try QEMUGdbSession(kernel: kernel)
        defer { session.stop() }
        let gdb = session.client
        // Before boot.S runs, the MMU is off and the text sits at its physical address.
        let text = elf.segments[0]
        #expect(try gdb.readMemory(at: text.physicalAddress, count: text.fileSize) == elf.contents(of: text))
        let main = try elf.address(of: "main")
        try gdb.setBreakpoint(.software, at: main)
        let stop = try gdb.continueAndWait(timeout: 30)
        #expect(stop.signal == StopReason.sigtrap)
        #expect(try gdb.readRegister("pc") == main)
        let sctlr = try gdb.readRegister("SCTLR")
        #expect(sctlr & 1 == 1, "SCTLR.M must be set after boot.S enabled the MMU: 0x\(String(sctlr, radix: 16))")
        #expect(try gdb.readRegister("TCR_EL1") != 0)
        #expect(try gdb.readRegister("TTBR1_EL1") != 0)
        #expect(try gdb.readRegister("MAIR_EL1") != 0)
        // Now the upper-half virtual address reads the same bytes as the ELF file.
        #expect(try gdb.readMemory(at: text.virtualAddress, count: text.fileSize) == elf.contents(of: text))
        #expect(try gdb.readMemory(at: text.virtualAddress, count: 64) == gdb.qemu.readPhysicalMemory(at: text.physicalAddress, count: 64))
    }

    @Test func guestPowerOffEndsTheSessionWithAnExitReply() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        // Jump to the guest's PSCI SYSTEM_OFF: QEMU answers W00 and exits.
        try gdb.writeRegister("pc", value: TinyGuest.powerOff)
        #expect(try gdb.readRegister("pc") == TinyGuest.powerOff)
        let stop = try gdb.continueAndWait(timeout: 30)
        #expect(stop.kind == .exited(status: 0), "\(stop); serial: \(session.qemu.outputText.suffix(200))")
        #expect(gdb.state == .exited)
        let after = #expect(throws: GdbError.self) { try gdb.readRegister("pc") }
        #expect(after?.kind == .invalidState(.exited))
    }

    @Test func readsMemoryMatchingTheLoadedELF() throws {
        let elf = try ElfImage(path: try TinyGuest.image())
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let segment = try #require(elf.segments.first { $0.virtualAddress == TinyGuest.entry })
        let image = elf.contents(of: segment)
        let memory = try session.client.readMemory(at: segment.virtualAddress, count: image.count)
        #expect(memory == image)
        #expect(memory.count > 0x1000)  // crosses the 0x800 packet limit several times
        // The loop's first instruction, as the disassembler shows it: ldr x2, [x1] = f9400022.
        #expect(try session.client.readMemory(at: TinyGuest.loop, count: 4) == [0x22, 0x00, 0x40, 0xF9])
        // A megabyte in one call, pipelined.
        #expect(try session.client.readMemory(at: 0x4000_0000, count: 1 << 20).count == 1 << 20)
        // Unmapped: QEMU answers E14 and the error names the address.
        let error = #expect(throws: GdbError.self) { try session.client.readMemory(at: 0x1_0000_0000_0000, count: 16) }
        #expect(error?.address == 0x1_0000_0000_0000)
        #expect(error?.kind == .stubError(code: 0x14))
    }

    @Test func writesMemoryAndReadsItBack() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        let pattern = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        try gdb.writeMemory(at: 0x4010_0000, bytes: pattern)  // three M packets
        #expect(try gdb.readMemory(at: 0x4010_0000, count: pattern.count) == pattern)
        try gdb.writeRegister("x5", value: 0x1234_5678_9ABC_DEF0)
        #expect(try gdb.readRegister("x5") == 0x1234_5678_9ABC_DEF0)
    }

    @Test func generalRegistersRoundTripThroughGAndG() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        let before = try gdb.readGeneralRegisters()
        let edited = RegisterSnapshot(registers: before.registers.map { entry in
            entry.info.name == "x7" ? (entry.info, Hex.littleEndianBytes(0xCAFE_F00D_0000_0007, count: 8)) : entry
        })
        try gdb.writeGeneralRegisters(edited)
        #expect(try gdb.readRegister("x7") == 0xCAFE_F00D_0000_0007)
        #expect(try gdb.readGeneralRegisters()["pc"] == before["pc"])
    }

    @Test func hardwareBreakpointAndSingleStepFlags() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        try gdb.setBreakpoint(.hardware, at: TinyGuest.watchedLoad)
        #expect(try gdb.continueAndWait(timeout: 30).signal == StopReason.sigtrap)
        #expect(try gdb.readRegister("pc") == TinyGuest.watchedLoad)
        #expect(try gdb.continueAndWait(timeout: 30).signal == StopReason.sigtrap)
        #expect(Hex.littleEndianValue(try gdb.readMemory(at: TinyGuest.watched, count: 8)) == 1)
        try gdb.removeAllBreakpoints()
        try gdb.qemu.setSingleStepFlags([.enable])
        #expect(try gdb.qemu.singleStepFlags() == [.enable])
        let pc = try gdb.readRegister("pc")
        _ = try gdb.step()
        #expect(try gdb.readRegister("pc") == pc + 4)
    }

    @Test func concurrentCallersShareOneConnection() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        let expected = try gdb.readMemory(at: TinyGuest.entry, count: 0x1010)
        final class Problems: @unchecked Sendable {
            private let lock = NSLock()
            private(set) var list: [String] = []
            func add(_ text: String) { lock.lock(); list.append(text); lock.unlock() }
        }
        let problems = Problems()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for _ in 0..<20 {
                do {
                    if i % 2 == 0 {
                        let bytes = try gdb.readMemory(at: TinyGuest.entry, count: 0x1010)
                        if bytes != expected { problems.add("thread \(i): memory differs") }
                    } else {
                        let pc = try gdb.readRegister("pc")
                        if pc != TinyGuest.entry { problems.add("thread \(i): pc 0x\(String(pc, radix: 16))") }
                    }
                } catch {
                    problems.add("thread \(i): \(error)")
                }
            }
        }
        #expect(problems.list.isEmpty, "\(problems.list.prefix(5))")
    }

    @Test func batchReadOfScatteredRanges() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        let ranges = (0..<64).map { MemoryRange(address: 0x4008_0000 + UInt64($0) * 0x40, count: 8) }
        let batch = try gdb.readMemory(ranges: ranges)
        for (range, bytes) in zip(ranges, batch).prefix(8) {
            #expect(try gdb.readMemory(at: range.address, count: range.count) == bytes)
        }
        let mixed = try gdb.readMemoryAllowingFailures(ranges: [MemoryRange(address: TinyGuest.loop, count: 4),
                                                                MemoryRange(address: 0x1_0000_0000_0000, count: 4)])
        #expect(try mixed[0].get() == [0x22, 0x00, 0x40, 0xF9])
        #expect(throws: GdbError.self) { try mixed[1].get() }
    }

    @Test func breakpointHitAndContinueStepsOverIt() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        try gdb.setBreakpoint(.software, at: TinyGuest.counterStore)
        var counts: [UInt64] = []
        for _ in 0..<3 {
            let stop = try gdb.continueAndWait(timeout: 30)
            #expect(stop.signal == StopReason.sigtrap)
            #expect(try gdb.readRegister("pc") == TinyGuest.counterStore)
            counts.append(Hex.littleEndianValue(try gdb.readMemory(at: TinyGuest.counter, count: 8)))
        }
        // Each hit is one loop iteration later: the client stepped over the breakpoint.
        #expect(counts == [0, 1, 2])
        try gdb.removeBreakpoint(.software, at: TinyGuest.counterStore)
        #expect(gdb.breakpoints.isEmpty)
    }

    /// A write watchpoint stops at the store, a read watchpoint at the load, an access
    /// watchpoint at both; the value shows each stop is before the access and that
    /// continuing stepped over the previous one.
    @Test("watchpoints stop before the access, report kind and address, and are stepped over",
          arguments: [(BreakpointKind.writeWatchpoint, [TinyGuest.watchedStore, TinyGuest.watchedStore], [UInt64(0), 1, 2]),
                      (.readWatchpoint, [TinyGuest.watchedLoad, TinyGuest.watchedLoad], [0, 1, 2]),
                      (.accessWatchpoint, [TinyGuest.watchedLoad, TinyGuest.watchedStore], [0, 0, 1])])
    func watchpointHit(kind: BreakpointKind, expectedPCs: [UInt64], expectedValues: [UInt64]) throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        try gdb.setBreakpoint(kind, at: TinyGuest.watched, length: 8)
        var pcs: [UInt64] = [], values: [UInt64] = []
        for _ in 0..<3 {
            let stop = try gdb.continueAndWait(timeout: 30)
            #expect(stop.watchpoint?.kind == kind, "\(stop)")
            #expect(stop.watchpoint?.address == TinyGuest.watched)
            pcs.append(try gdb.readRegister("pc"))
            values.append(Hex.littleEndianValue(try gdb.readMemory(at: TinyGuest.watched, count: 8)))
        }
        #expect(Array(pcs.prefix(2)) == expectedPCs)
        #expect(values == expectedValues)
    }

    @Test func singleStepAdvancesOneInstruction() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        let stop = try gdb.step()
        #expect(stop.signal == StopReason.sigtrap)
        #expect(try gdb.readRegister("pc") == TinyGuest.entry + 4)
        _ = try gdb.step()
        #expect(try gdb.readRegister("pc") == TinyGuest.entry + 8)
        // Stepping from a breakpoint address moves on instead of re-reporting it.
        try gdb.setBreakpoint(.software, at: TinyGuest.entry + 8)
        _ = try gdb.step()
        #expect(try gdb.readRegister("pc") == TinyGuest.entry + 12)
        #expect(try gdb.qemu.singleStepFlags() == [.enable, .noIRQ, .noTimer])
    }

    @Test func interruptsARunningGuest() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        try gdb.resume()
        #expect(gdb.state == .running)
        let notYet = #expect(throws: GdbError.self) { try gdb.waitForStop(timeout: 0.2) }
        #expect(notYet?.kind == .timedOut(seconds: 0.2))
        let stop = try gdb.interrupt(timeout: 30)
        #expect(stop.signal == StopReason.sigint)
        #expect(gdb.state == .stopped)
        // The guest ran: its counter moved. A loaded host may have given it little
        // CPU in that time, so let it run again (with a deadline) until it has.
        var counter = Hex.littleEndianValue(try gdb.readMemory(at: TinyGuest.counter, count: 8))
        let deadline = Date().addingTimeInterval(30)
        while counter <= 1000 && Date() < deadline {
            try gdb.resume()
            Thread.sleep(forTimeInterval: 0.2)
            #expect(try gdb.interrupt(timeout: 30).signal == StopReason.sigint)
            counter = Hex.littleEndianValue(try gdb.readMemory(at: TinyGuest.counter, count: 8))
        }
        #expect(counter > 1000, "the guest ran: counter = \(counter)")
        let pc = try gdb.readRegister("pc")
        #expect((TinyGuest.loop..<TinyGuest.loop + 0x1C).contains(pc))
    }

    @Test func twoVCPUsAreTwoThreadsWithTheirOwnRegisters() throws {
        let session = try QEMUGdbSession(smp: 2)
        defer { session.stop() }
        let gdb = session.client
        let threads = try gdb.threads()
        #expect(threads == [ThreadID(process: 1, thread: 1), ThreadID(process: 1, thread: 2)])
        #expect(try gdb.currentThread() == threads[0])
        // Let CPU 0 start CPU 1 through PSCI, then stop both (again, until a deadline,
        // if a loaded host had not scheduled CPU 1 yet).
        let deadline = Date().addingTimeInterval(30)
        repeat {
            try gdb.resume()
            Thread.sleep(forTimeInterval: 0.2)
            _ = try gdb.interrupt(timeout: 30)
        } while !(TinyGuest.loop..<TinyGuest.loop + 0x1C).contains(try gdb.readRegister("pc", thread: threads[1])) && Date() < deadline
        #expect(try gdb.readRegister("x9", thread: threads[0]) == 0)
        #expect(try gdb.readRegister("x9", thread: threads[1]) == 1)
        for thread in threads {
            #expect((TinyGuest.loop..<TinyGuest.loop + 0x1C).contains(try gdb.readRegister("pc", thread: thread)))
        }
        // vCont;s:p1.2 steps only the second vCPU.
        let pc0 = try gdb.readRegister("pc", thread: threads[0])
        let pc1 = try gdb.readRegister("pc", thread: threads[1])
        let stop = try gdb.step(thread: threads[1])
        #expect(stop.thread == threads[1])
        #expect(try gdb.readRegister("pc", thread: threads[0]) == pc0)
        #expect(try gdb.readRegister("pc", thread: threads[1]) != pc1)
    }

    @Test func monitorCommandsReturnTheirText() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let gdb = session.client
        // MMU off: the monitor translates an address to itself.
        #expect(try gdb.qemu.translate(virtualAddress: TinyGuest.loop) == TinyGuest.loop)
        let text = try gdb.monitor("xp /1wx 0x\(String(TinyGuest.loop, radix: 16))")
        #expect(text.contains("f9400022"), "\(text)")
        #expect(try gdb.monitor("info version").contains("."))
    }

    @Test func physicalMemoryModeIsScopedAndAlwaysRestored() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        let qemu = session.client.qemu
        #expect(session.client.isQEMU)
        #expect(try qemu.isPhysicalMemoryMode() == false)
        let (physical, modeInside) = try qemu.withPhysicalMemory { () throws(GdbError) -> ([UInt8], Bool) in
            (try session.client.readMemory(at: TinyGuest.loop, count: 4), try qemu.isPhysicalMemoryMode())
        }
        #expect(modeInside)
        #expect(physical == [0x22, 0x00, 0x40, 0xF9])
        #expect(try qemu.isPhysicalMemoryMode() == false)
        // Restored even when the body fails.
        let failure = #expect(throws: GdbError.self) {
            try qemu.withPhysicalMemory { () throws(GdbError) in
                _ = try session.client.readMemory(at: 0x0800_0000, count: 0x1000)  // the GIC: refused by the guard
            }
        }
        guard case .refused = failure?.kind else { Issue.record("expected the device-memory guard, got \(String(describing: failure))"); return }
        #expect(try qemu.isPhysicalMemoryMode() == false)
        // Unbacked physical memory reads as zeros instead of failing.
        #expect(try qemu.readPhysicalMemory(at: 0x4800_0000, count: 16) == Array(repeating: 0, count: 16))
    }

    @Test func deviceMemoryIsGuardedWhileTheMMUIsOff() throws {
        let session = try QEMUGdbSession(smp: 2)
        defer { session.stop() }
        let gdb = session.client
        // MMU off: virtual = physical, and the GIC read would crash QEMU with -smp 2.
        let refused = #expect(throws: GdbError.self) { try gdb.readMemory(at: 0x0801_0000, count: 4) }
        guard case .refused = refused?.kind else { Issue.record("expected refused, got \(String(describing: refused))"); return }
        #expect(refused?.address == 0x0801_0000)
        let bulk = #expect(throws: GdbError.self) { try gdb.readMemory(at: 0x0900_0000, count: 0x1000) }
        guard case .refused = bulk?.kind else { Issue.record("expected refused, got \(String(describing: bulk))"); return }
        // One UART register is fine; so is RAM.
        #expect(try gdb.readMemory(at: 0x0900_0018, count: 4).count == 4)
        #expect(try gdb.readMemory(at: TinyGuest.loop, count: 4) == [0x22, 0x00, 0x40, 0xF9])
        #expect(session.qemu.isRunning)
    }

    @Test func connectsOverAUnixSocketAndDetaches() throws {
        let session = try QEMUGdbSession(unixSocket: true)
        defer { session.stop() }
        #expect(try session.client.readRegister("pc") == TinyGuest.entry)
        try session.client.detach()  // QEMU resumes the VM
        #expect(session.client.state == .closed)
        let error = #expect(throws: GdbError.self) { try session.client.readRegister("pc") }
        #expect(error?.kind == .invalidState(.closed))
    }

    @Test func killEndsQEMU() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        try session.client.kill()
        let status = try session.qemu.waitForExit(timeout: 30)
        #expect(!session.qemu.isRunning)
        _ = status
    }

    @Test func aCachedRegisterStillNoticesAStubThatDied() throws {
        let session = try QEMUGdbSession()
        defer { session.stop() }
        #expect(try session.client.readRegister("pc") == TinyGuest.entry)
        session.qemu.stop()
        let error = #expect(throws: GdbError.self) { try session.client.readRegister("pc") }
        guard case .disconnected = error?.kind else { Issue.record("expected disconnected, got \(String(describing: error))"); return }
        #expect(session.client.state == .closed)
    }

    @Test func connectingToNothingFailsFast() throws {
        guard let port = QEMUInstance.freeTCPPort() else { Issue.record("no free port"); return }
        let start = Date()
        // Refused at once: well before the (long) deadline, whatever the host's load.
        let error = #expect(throws: GdbError.self) { try GdbClient.connect(to: .tcp(host: "127.0.0.1", port: port), timeout: 30) }
        guard case .connectFailed = error?.kind else { Issue.record("expected connectFailed, got \(String(describing: error))"); return }
        #expect(Date().timeIntervalSince(start) < 10)
    }
}
