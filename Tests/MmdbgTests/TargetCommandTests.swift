import Foundation
import Inspect
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// Commands that talk to the target, checked against the ELF and QEMU itself.
    @Suite("mmdbg commands against the real QEMU and kernel", .serialized)
    struct TargetCommandTests {
        @Test func registersAndMemoryMatchTheLoadedELF() throws {
            let kernel = try Tools.kernelImage()
            let elf = try ELFFile(path: kernel)
            let start = try elf.address(of: "_start")
            let expected = try elf.contents(at: start, length: 16)
            let entry = "0x" + String(elf.entry, radix: 16)
            let run = try MmdbgBinary.run(["--json", "-ex", "regs pc sp", "-ex", "x \(entry) 2 /g --phys", "-ex", "x/16b \(entry) --phys"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 3 && docs.allSatisfy(\.ok), "\(run.stdout)")
            let registers = try #require(docs[0].result?.array("registers"))
            #expect(registers.map { $0.string("name") } == ["pc", "sp"])
            // QEMU starts a -kernel ELF at its physical entry point (the physical address of _start).
            #expect(registers[0].address("value") == elf.entry)
            #expect(elf.entry == start &- 0xFFFF_0000_0000_0000)
            let words = (docs[1].result?["values"] as? [String]) ?? []
            let littleEndian = (0..<2).map { i in expected[i * 8..<i * 8 + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            #expect(words == littleEndian.map { "0x" + String($0, radix: 16) })
            let bytes = (docs[2].result?["values"] as? [String])?.compactMap { UInt8($0.dropFirst(2), radix: 16) }
            #expect(bytes == expected)
        }

        @Test func vtopAgreesWithQEMUsOwnTranslation() throws {
            let kernel = try Tools.kernelImage()
            let elf = try ELFFile(path: kernel)
            let main = try elf.address(of: "main")
            let mainName = try #require(elf.symbolicate(main)).symbol  // `main` may alias `Kernel_main`
            let addresses: [UInt64] = [main, main + 0x1234, 0xFFFF_0000_4000_0000, 0xFFFF_0000_47FF_F000, elf.entry, 0x4100_0008]
            var arguments = ["--json", "-ex", "break *main", "-ex", "continue"]
            for address in addresses {
                let text = "0x" + String(address, radix: 16)
                arguments += ["-ex", "vtop \(text)", "-ex", "monitor gva2gpa \(text)"]
            }
            let run = try MmdbgBinary.run(arguments)
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 2 + 2 * addresses.count, "\(run.stdout)")
            #expect(docs[1].result?.object("target")?.string("location") == mainName)
            for (i, address) in addresses.enumerated() {
                let vtop = try #require(docs[2 + 2 * i].result)
                let monitor = try #require(docs[3 + 2 * i].result?.string("output"))
                // QEMU prints "gpa: 0x400810d8".
                let qemuPA = monitor.split(separator: " ").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2), radix: 16) }
                #expect(vtop["mapped"] as? Bool == true)
                #expect(vtop.address("pa") == qemuPA, "vtop 0x\(String(address, radix: 16)): \(vtop) vs \(monitor)")
                #expect((vtop.array("steps") ?? []).count >= 2, "every level's descriptor is shown")
            }
        }

        @Test func breakpointHitIsCountedAndTextOutputIsAligned() throws {
            let elf = try ELFFile(path: try Tools.kernelImage())
            let mainName = try #require(elf.symbolicate(try elf.address(of: "main"))).symbol
            let run = try MmdbgBinary.run(["-ex", "break main", "-ex", "continue", "-ex", "info breaks", "-ex", "sym $pc", "-ex", "addr main"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("breakpoint 1 at 0xffff") && $0.hasSuffix("<\(mainName)>") })
            // No DWARF function begins at `main`: `break main` stays at its entry, as before.
            #expect(lines.contains("breakpoint 1: stopped at \(mainName)"))
            let header = try #require(lines.firstIndex { $0.hasPrefix("ID  TYPE") })
            let row = lines[header + 1]
            #expect(row.hasPrefix(" 1  break  0xffff"))
            // HITS column right-aligned under its title.
            let hitsEnd = lines[header].range(of: "HITS")!.upperBound.utf16Offset(in: lines[header])
            #expect(Array(row)[hitsEnd - 1] == "1")
            #expect(lines.contains { $0.hasSuffix("= \(mainName)") })
            #expect(lines.contains { $0.hasPrefix("main = 0xffff") })
        }

        @Test func continueDeadlineInterruptsARunningTarget() throws {
            let guest = try TinyGuest.image()
            let run = try MmdbgBinary.run(["--kernel", guest, "--json", "-ex", "continue --timeout 0.5", "-ex", "x counter 1 /g",
                                           "-ex", "continue --no-wait", "-ex", "status", "-ex", "interrupt"])
            // The deadline running out is a failed command (exit 1), but `-ex` goes on like gdb.
            #expect(run.status == 1, "stderr: \(run.stderr)")
            #expect(run.stderr.contains("error: continue: no stop within the 0.5 s deadline (--timeout), interrupted; stopped at loop"))
            let docs = try run.jsonDocuments()
            try #require(docs.count == 5)
            #expect(docs[0].ok == false)
            #expect(docs[0].result?.string("event") == "deadline")
            let counter = (docs[1].result?["values"] as? [String])?.first.flatMap { UInt64($0.dropFirst(2), radix: 16) } ?? 0
            #expect(counter > 1000, "the guest ran: counter \(counter)")
            #expect(docs[3].result?.object("target")?.string("state") == "running")
            #expect(docs[4].result?.string("event") == "interrupted")
            #expect(docs[4].result?.object("target")?.string("state") == "stopped")
        }

        @Test func watchpointStopsBeforeTheStore() throws {
            let guest = try TinyGuest.image()
            let run = try MmdbgBinary.run(["--kernel", guest, "--json", "-ex", "watch watched 8", "-ex", "continue", "-ex", "regs pc",
                                           "-ex", "continue", "-ex", "info breaks"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 5)
            #expect(docs[1].result?.string("reason") == "watchpoint 1")
            #expect(docs[2].result?.array("registers")?.first?.address("value") == TinyGuest.watchedStore)
            #expect(docs[3].result?.string("reason") == "watchpoint 1", "continue steps over the watchpoint and hits it again")
            #expect(docs[4].result?.array("breakpoints")?.first?["hits"] as? Int == 2)
        }

        @Test func attachWithoutAnELFAndDetachOnQuit() throws {
            let guest = try TinyGuest.image()
            let qemu = try QEMUInstance(.stoppedForDebugger(kernel: guest))
            defer { qemu.stop() }
            let address = try #require(qemu.gdbAddress)
            let store = "0x" + String(TinyGuest.counterStore, radix: 16)
            let run = try MmdbgBinary.run(["attach", address, "--json", "-ex", "regs pc", "-ex", "break \(store)", "-ex", "continue",
                                           "-ex", "stepi", "-ex", "x 0x40081000 1 /g", "-ex", "monitor info status", "-ex", "quit"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 7)
            #expect(docs[0].result?.array("registers")?.first?.address("value") == TinyGuest.entry)
            #expect(docs[2].result?.object("target")?.address("pc") == TinyGuest.counterStore)
            #expect(docs[3].result?.object("target")?.address("pc") == TinyGuest.counterStore + 4)
            #expect((docs[4].result?["values"] as? [String]) == ["0x1"], "the store ran once")
            #expect(docs[5].result?.string("output")?.contains("paused") == true)
            #expect(docs[6].result?.string("action") == "detach")
            // Detached, not killed: QEMU is still there and running the guest.
            usleep(100_000)
            #expect(qemu.isRunning)
        }

        @Test func finishReturnsToTheCallerAndDecodeNamesRegisterFields() throws {
            // At map_page's first instruction (`*`): x30 is the return address there.
            let run = try MmdbgBinary.run(["--json", "-ex", "break *map_page", "-ex", "continue", "-ex", "regs x30", "-ex", "finish",
                                           "-ex", "info breaks", "-ex", "regs TCR_EL1 SCTLR ESR_EL1 --decode"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 6)
            let returnAddress = try #require(docs[2].result?.array("registers")?.first?.address("value"))
            let finish = try #require(docs[3].result)
            #expect(finish.string("reason")?.hasPrefix("returned (x0 = 0x") == true)
            #expect(finish.object("target")?.address("pc") == returnAddress, "stopped where map_page's x30 pointed")
            #expect(docs[4].result?.array("breakpoints")?.count == 1, "finish's temporary breakpoint is gone")
            let registers = try #require(docs[5].result?.array("registers"))
            let tcr = try #require(registers.first?.address("value"))
            let decoded = try #require(docs[5].result?.object("decoded"))
            #expect((decoded.object("TCR_EL1")?.string("T0SZ"))?.hasPrefix("\(tcr & 0x3F) (") == true)
            #expect(decoded.object("SCTLR")?.string("M") == "1 (MMU on)")
            #expect(decoded.object("ESR_EL1")?.string("EC") != nil)
        }

        @Test func aMonitorCommandQEMURejectsFailsWithQEMUsText() throws {
            let run = try MmdbgBinary.run(["--json", "-ex", "monitor nosuchcmd", "-ex", "monitor xp", "-ex", "monitor info status"])
            #expect(run.status == 1)
            let docs = try run.jsonDocuments()
            try #require(docs.count == 3, "\(run.stdout)")
            #expect(docs[0].string("error") == #"monitor: QEMU rejected "nosuchcmd": unknown command: 'nosuchcmd'"#)
            #expect(docs[1].string("error")?.hasPrefix(#"monitor: QEMU rejected "xp": "#) == true, "\(docs[1])")
            #expect(docs[1].string("error")?.contains(#"Try "help xp" for more information"#) == true)
            #expect(docs[2].ok && docs[2].result?.string("output")?.contains("VM status") == true, "\(docs[2])")
        }
    }
}
