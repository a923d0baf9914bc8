import Foundation
import KernelABI
import QEMULauncher
import Testing
import TestSupport

/// Commands that stop the kernel at `main` and write the synthetic task of Fixtures/synthetic_task.py.
func syntheticTaskSetup() throws -> [String] {
    let fixture = try GdbBatch.packageRoot().appendingPathComponent("Tests/GdbScriptsTests/Fixtures/synthetic_task.py")
    return ["break *main", "continue", "source \(fixture.path)", "python build_synthetic_task()"]
}

/// Where the fixture puts things (Fixtures/synthetic_task.py).
enum Synthetic {
    static let pid = 7
    static let pgd: UInt64 = 0x4400_0000
    static func page(_ index: UInt64) -> UInt64 { 0x4410_0000 + index * MM_PAGE_SIZE }
    static let textFlags = "k:r--,u:r-x,normal-WB,ISH,AF,nG"
    static let dataFlags = "k:rw-,u:rw-,normal-WB,ISH,AF,nG"
}

@Suite("mm-log, mm-fail, mm-tasks, mm-task and mm-check on the real kernel", .serialized)
struct KernelViewSystemTests {
    /// Stops where the kernel is about to print the newline that ends its second line
    /// ("[BOOT] MMU on: SCTLR_EL1=0x..."): early, so the test is quick on any kernel.
    static let stopAtSecondNewline = ["break *mm_uart_putc if $x0 == 10", "ignore $bpnum 1", "continue"]

    @Test func logRingMatchesTheSerialConsole() throws {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        let transcript = try target.gdb(setup: Self.stopAtSecondNewline,
                                        ["mm-log", "mm-log --last 1", "mm-log --last x1", "mm-log --last 0"])
        try #require(transcript.outputs.count == 4, "\(transcript.all)")
        let log = transcript.outputs[0]
        #expect(log.hasPrefix("mmdbg kernel: booting") && log.contains("\n[BOOT] MMU on: SCTLR_EL1=0x"), "\(log)")
        // The ring holds exactly what went to the UART; gdb adds the missing final newline.
        let serial = try target.qemu.waitUntil(timeout: 30, what: "the serial console to show the log") { out, _ in
            out.hasPrefix(String(log.dropLast()))
        }
        #expect(serial.hasPrefix(String(log.dropLast())), "mm-log:\n\(log)\nserial:\n\(serial)")
        #expect(transcript.outputs[1] == String(log.split(separator: "\n").last!) + "\n", "\(transcript.outputs[1])")
        #expect(transcript.stderr.contains("cannot read --last count"), "\(transcript.stderr)")
        #expect(transcript.outputs[3].isEmpty && transcript.stderr.contains("--last must be a count from 1"), "\(transcript.all)")
    }

    @Test func failNthForcesTheReturnValueOfTheNthCall() throws {
        let injected = try KernelUnderGdb()
        defer { injected.stop() }
        let transcript = try injected.gdb(setup: ["mm-fail mm_read_sctlr --nth 1 --return 0x1234abcd"] + Self.stopAtSecondNewline,
                                          ["mm-fail --list", "mm-log --last 1"])
        try #require(transcript.outputs.count == 2, "\(transcript.all)")
        #expect(transcript.stdout.contains("[mm-fail] mm_read_sctlr call #1: forced return 0x1234abcd"), "\(transcript.all)")
        #expect(transcript.outputs[0].contains("injected (returned to 0xffff"), "\(transcript.all)")
        #expect(transcript.outputs[1].lowercased() == "[boot] mmu on: sctlr_el1=0x1234abcd\n", "\(transcript.outputs[1])")
        try injected.qemu.waitUntil(timeout: 30, what: "the forced value on the console") { out, _ in
            out.lowercased().contains("sctlr_el1=0x1234abcd")
        }

        // Only the Nth call fails: with --nth 2 the first call returns the real SCTLR_EL1.
        let control = try KernelUnderGdb()
        defer { control.stop() }
        let untouched = try control.gdb(setup: ["mm-fail mm_read_sctlr --nth 2 --return 0x1234abcd"] + Self.stopAtSecondNewline,
                                        ["mm-fail --list", "mm-log --last 1", "info registers SCTLR"])
        try #require(untouched.outputs.count == 3, "\(untouched.all)")
        #expect(untouched.outputs[0].contains("armed, 1 calls so far"), "\(untouched.all)")
        let printed = untouched.outputs[1].split(separator: "=").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        let real = untouched.outputs[2].split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
        #expect(printed != nil && printed?.lowercased() == real.map { String($0.lowercased()) }, "\(untouched.all)")
    }

    @Test func taskViewsDecodeASyntheticTask() throws {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        let transcript = try target.gdb(setup: syntheticTaskSetup(),
                                        ["mm-tasks", "mm-task 7", "mm-pt 7 --raw", "mm-vtop 0x400123 --pid 7",
                                         "mm-check", "mm-task 99", "mm-layout"])
        try #require(transcript.outputs.count == 7, "\(transcript.all)")
        let tasks = transcript.outputs[0]
        let row = try #require(tasks.split(separator: "\n").first { $0.contains("synthetic") }, "\(tasks)")
        #expect(row.split(separator: " ").prefix(5) == ["7", "1", "runnable", "synthetic", "0x44000000"], "\(row)")
        #expect(row.hasSuffix(" 9      5    3"), "tables, user pages, slot: \(row)")
        #expect(tasks.hasSuffix("1 tasks\n"), "\(tasks)")

        let task = transcript.outputs[1]
        #expect(task.contains("pid 7 (synthetic) slot 3"), "\(task)")
        #expect(task.contains("mm.pgd 0x44000000  mm.brk 0x10001000"), "\(task)")
        #expect(task.contains("0x000000400000 -> 0x44100000  flags 0x20000000000fc3"), "\(task)")

        let runs = try #require(rawRuns(transcript.outputs[2]), "\(transcript.outputs[2])")
        let expected = [
            "0x400000 0x401000 0x\(String(Synthetic.page(0), radix: 16)) \(Synthetic.textFlags)",
            "0x1000000 0x1002000 0x\(String(Synthetic.page(1), radix: 16)) \(Synthetic.dataFlags)",
            "0x10000000 0x10001000 0x\(String(Synthetic.page(4), radix: 16)) \(Synthetic.dataFlags)",
            "0x\(String(MM_STACK_TOP - MM_PAGE_SIZE, radix: 16)) 0x\(String(MM_STACK_TOP, radix: 16)) 0x\(String(Synthetic.page(5), radix: 16)) \(Synthetic.dataFlags)",
        ]
        #expect(runs.map { $0.description } == expected.compactMap { RawRun(line: Substring($0))?.description })

        let vtop = transcript.outputs[3]
        #expect(vtop.contains("via pid 7 mm.pgd table 0x44000000"), "\(vtop)")
        #expect(["L0[  0]", "L1[  0]", "L2[  2]", "L3[  0]"].allSatisfy { vtop.contains($0) }, "\(vtop)")
        #expect(vtopPhysicalAddress(vtop) == Synthetic.page(0) + 0x123, "\(vtop)")
        #expect(transcript.outputs[4] == "mm-check: 0 findings (1 tasks with page tables, 5 user pages, 9 tables, 0 free pages)\n",
                "\(transcript.outputs[4])")
        #expect(transcript.stderr.contains("no task with pid 99"), "\(transcript.stderr)")
        // The kernel's exported mm_layout record matches the generated layout.
        #expect(transcript.outputs[6].contains("mm-layout: kernel and gdb/mmdbg_layout.py agree (version \(MM_LAYOUT_VERSION))"),
                "\(transcript.all)")
        #expect(!transcript.stderr.contains("exports no mm_layout record"), "\(transcript.stderr)")
    }

    @Test func aKernelWithAnotherLayoutIsRefused() throws {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        // Pretend the kernel was built with a bigger struct mm_task: patch its exported record.
        let transcript = try target.gdb(setup: ["break *main", "continue",
                                                "set var *(unsigned int *)((char *)&mm_layout + 12) = 4242"],
                                        ["mm-layout", "mm-tasks"])
        try #require(transcript.outputs.count == 2, "\(transcript.all)")
        #expect(transcript.outputs[0].contains("sizeof_task              kernel 0x1092"), "\(transcript.all)")
        #expect(transcript.stderr.contains("layout mismatch: mm_layout.sizeof_task: kernel has 4242"), "\(transcript.stderr)")
        #expect(transcript.stderr.contains("kernel layout differs from gdb/mmdbg_layout.py"), "\(transcript.stderr)")
        #expect(!transcript.outputs[1].contains("tasks"), "mm-tasks must not decode: \(transcript.outputs[1])")
    }

    @Test func checkReportsEveryCorruption() throws {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        let setup = try syntheticTaskSetup() + [
            "python corrupt_pte_address(\(MM_HEAP_BASE), \(Synthetic.page(6)))",
            "python make_writable(\(MM_TEXT_BASE))",
            "python poison_page(2)",
            "python forget_last_table()",
            "python free_list_with([1, 8])",
        ]
        let transcript = try target.gdb(setup: setup, ["mm-check"])
        let report = try #require(transcript.outputs.first, "\(transcript.all)")
        let lines = Set(report.split(separator: "\n").map(String.init))
        let expected: Set<String> = [
            "pid 7 va 0x10000000: PTE maps PA 0x44106000, user_pages records PA 0x44104000",
            "pid 7 va 0x400000: PTE flags 0x20000000000f43, user_pages records flags 0x20000000000fc3",
            "pid 7 va 0x400000: mapping is writable and executable (k:rw- u:rwx)",
            "pid 7 va 0x1001000: mapped page PA 0x44102000 still holds the free-page poison",
            "pid 7 va -: L3 table at PA 0x44008000 is not in kernel_pages",
            "pid 7 va 0x1000000: PA 0x44101000 is both mapped and on the free list",
            "mm-check: 6 findings (1 tasks with page tables, 5 user pages, 9 tables, 2 free pages)",
        ]
        #expect(lines == expected, "missing: \(expected.subtracting(lines))\nunexpected: \(lines.subtracting(expected))")
    }

    @Test func connectScriptAttachesAndBreaksOnTheFaultHandlers() throws {
        let kernel = try Tools.kernelImage()
        let qemu = try QEMUInstance(.stoppedForDebugger(kernel: kernel))
        defer { qemu.stop() }
        let transcript = try GdbBatch.run(setup: ["set $mm_port = \(qemu.gdbPort!)", "set $mm_kernel = \"\(kernel)\"",
                                                  "source gdb/connect.gdb"],
                                          commands: ["info breakpoints", "break *main", "continue", "mm-pt kernel --raw"])
        try #require(transcript.outputs.count == 4, "\(transcript.all)")
        // One breakpoint per handler: resolved where the kernel has it (gdb may name an
        // inlined handler by its caller), pending where it does not yet.
        let rows = transcript.outputs[0].split(separator: "\n").filter { $0.split(separator: " ").dropFirst().first == "breakpoint" }
        #expect(rows.count == 3, "\(transcript.outputs[0])")
        #expect(transcript.outputs[0].contains("do_data_abort"), "\(transcript.outputs[0])")
        #expect(transcript.outputs[2].contains("Breakpoint") && transcript.outputs[2].contains("main"), "\(transcript.all)")
        #expect(rawRuns(transcript.outputs[3])?.isEmpty == false, "\(transcript.all)")
    }
}
