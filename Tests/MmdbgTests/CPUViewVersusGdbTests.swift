import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// Issue 19: `cpus` on the SMP kernel (-smp 4) against gdb-multiarch's registers of each thread on
    /// the same stop, and `cpu N` steering `regs`. mmdbg stops the kernel, reads, and closes its
    /// connection without detaching (QEMU stays paused); gdb then attaches and reads every thread.
    @Suite("cpus beside gdb-multiarch's threads on -smp 4")
    struct CPUViewVersusGdbSystemTests {
        struct Row: Equatable, CustomStringConvertible {
            var pc: UInt64, cpsr: UInt64, ttbr0: UInt64, ttbr1: UInt64
            var description: String { [pc, cpsr, ttbr0, ttbr1].map { Hex.format($0) }.joined(separator: " ") }
        }

        @Test func cpusMatchesEachThreadsRegistersAndCpuSelectsTheRegisters() throws {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            configuration.smp = 4
            configuration.append = "tests=forkstorm"
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let address = try #require(qemu.gdbAddress)
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: address)
            // The second fork: the workers run, so several CPUs have a task.
            for line in ["break *copy_process", "continue --timeout 60", "continue --timeout 60", "delete"] {
                let result = session.execute(line: line)
                try #require(result.succeeded, "\(line): \(String(describing: result.error))")
            }
            let cpus = session.execute(line: "cpus")
            guard case .success(let output) = cpus.outcome, case .object(let fields) = output.json,
                  case .array(let rows)? = fields.first(where: { $0.0 == "cpus" })?.1 else {
                Issue.record("cpus failed: \(String(describing: cpus.error))")
                return
            }
            func value(_ row: JSONValue, _ key: String) -> JSONValue? {
                guard case .object(let f) = row else { return nil }
                return f.first { $0.0 == key }?.1
            }
            func hex(_ row: JSONValue, _ key: String) -> UInt64? {
                guard case .string(let text)? = value(row, key) else { return nil }
                return UInt64(text.dropFirst(2), radix: 16)
            }
            #expect(rows.count == 4)
            // The stop's CPU is selected and runs a task in copy_process (EL1, IRQs masked).
            let selected = try #require(rows.firstIndex { value($0, "selected") == .bool(true) })
            #expect(value(rows[selected], "location") == .string("copy_process"))
            #expect(value(rows[selected], "el") == .int(1))
            #expect(value(rows[selected], "state") == .string("busy"))
            #expect(session.prompt.hasSuffix(" cpu \(selected)) "), "\(session.prompt)")
            // Two CPUs with a task are two different tasks (and the check agrees).
            let tasks = rows.compactMap { row -> JSONValue? in value(row, "state") == .string("busy") ? value(row, "task") : nil }
            #expect(Set(tasks.map { "\($0)" }).count == tasks.count, "\(tasks)")
            let check = session.execute(line: "check")
            #expect(check.succeeded, "\(String(describing: check.error))")
            if case .success(let report) = check.outcome {
                let text = TextRenderer(colour: false).render(report)
                #expect(text.contains("0 findings"), "\(text)")
            }
            // `cpu N` steers regs: each CPU's pc as `cpus` read it.
            var mmdbgRows: [Row] = []
            for (index, row) in rows.enumerated() {
                let select = session.execute(line: "cpu \(index)")
                try #require(select.succeeded, "\(String(describing: select.error))")
                let regs = session.execute(line: "regs pc")
                guard case .success(let regsOutput) = regs.outcome else { Issue.record("regs on cpu \(index)"); continue }
                let pc = try #require(hex(row, "pc"))
                let text = TextRenderer(colour: false).render(regsOutput)
                #expect(text.contains(Hex.padded(pc)), "cpu \(index): \(text)")
                mmdbgRows.append(Row(pc: hex(row, "pc") ?? 0, cpsr: 0, ttbr0: (hex(row, "ttbr0") ?? 0) & 0x0000_FFFF_FFFF_FFFE, ttbr1: hex(row, "ttbr1") ?? 0))
            }
            session.target?.close()

            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            let marker = "@@cpus@@"
            var arguments = ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
                             "-ex", "file \(kernel)", "-ex", "target remote \(address)", "-ex", "echo \(marker)\\n", "-ex", "info threads"]
            for thread in 1...4 {
                arguments += ["-ex", "echo \(marker)\\n", "-ex", "thread \(thread)", "-ex", "info registers pc TTBR0_EL1 TTBR1_EL1"]
            }
            arguments += ["-ex", "echo \(marker)\\n"]
            let result = try ChildProcess.run(gdb, arguments, timeout: 60)
            let pieces = Array(result.stdout.components(separatedBy: "\(marker)\n").dropFirst().dropLast())
            try #require(pieces.count == 5, "gdb printed:\n\(result.combined)")
            #expect(pieces[0].contains("CPU#3"), "\(pieces[0])")
            let gdbRows = pieces.dropFirst().map { piece -> Row in
                func register(_ name: String) -> UInt64 {
                    for line in piece.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "\t") {
                        if let m = line.firstMatch(of: /(0x[0-9a-f]+)/) { return UInt64(m.1.dropFirst(2), radix: 16) ?? 0 }
                    }
                    return 0
                }
                return Row(pc: register("pc"), cpsr: 0, ttbr0: register("TTBR0_EL1"), ttbr1: register("TTBR1_EL1"))
            }
            // mmdbg shows TTBR0's table and ASID apart; gdb the whole register.
            let gdbComparable = gdbRows.map { Row(pc: $0.pc, cpsr: 0, ttbr0: $0.ttbr0 & 0x0000_FFFF_FFFF_FFFE, ttbr1: $0.ttbr1) }
            #expect(mmdbgRows == gdbComparable, "gdb:\n\(result.stdout)")
            let asids = rows.map { row -> Int64 in if case .int(let a)? = value(row, "asid") { return a } else { return -1 } }
            #expect(asids == gdbRows.map { Int64($0.ttbr0 >> 48) })
        }
    }
}
