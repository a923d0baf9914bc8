import Foundation
import KernelABI
import Testing

/// Stopped in the kernel's first data abort (the heap demand fault of init's first scenario),
/// when init and its first child exist.
func firstDataAbortSetup(fixture: String) throws -> [String] {
    let path = try GdbBatch.packageRoot().appendingPathComponent("Tests/GdbScriptsTests/Fixtures/\(fixture)").path
    return ["break do_data_abort", "continue", "delete", "source \(path)"]
}

@Suite("Task views on the kernel's own tasks (real QEMU)", .serialized)
struct TaskKernelSystemTests {
    @Test func taskListPagesAndChecksAgreeWithTheKernelAndQEMU() throws {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        let transcript = try target.gdb(setup: firstDataAbortSetup(fixture: "task_crosscheck.py"), [
            "mm-tasks", "mm-check", "python crosscheck_user_pages()", "mm-pt user --raw",
            "python gdb.execute('mm-pt %d --raw' % current_pid())",
            "python gdb.execute('mm-task %d' % current_pid())", "info registers ELR_EL1",
        ])
        try #require(transcript.outputs.count == 7, "\(transcript.all)")

        // The task list agrees with what the kernel printed when it started init.
        let serial = target.qemu.outputText
        let announced = try #require(serial.split(separator: "\n").first { $0.hasPrefix("[TASK] init: pid ") }, "\(serial)")
        let numbers = announced.split(whereSeparator: { !$0.isNumber && $0 != "x" }).compactMap { Int($0) }
        let (pid, pages, tables) = (numbers[0], numbers[numbers.count - 3], numbers[numbers.count - 2])
        let rows = transcript.outputs[0].split(separator: "\n").dropFirst().dropLast()
            .map { $0.dropFirst(2).split(separator: " ") }
        let initRow = try #require(rows.first { $0.first == Substring(String(pid)) }, "\(transcript.outputs[0])")
        #expect(initRow[3] == "init" && Int(initRow[6]) == tables && Int(initRow[7]) == pages,
                "\(announced) vs \(initRow)")
        #expect(rows.contains { $0.first == "0" }, "the idle task (pid 0) is listed: \(transcript.outputs[0])")
        #expect(Set(rows.map { $0[0] }).count == rows.count, "pids are unique")
        #expect(transcript.outputs[0].split(separator: "\n").filter { $0.hasPrefix("*") }.count == 1)

        #expect(transcript.outputs[1].hasPrefix("mm-check: 0 findings ("), "\(transcript.outputs[1])")

        // Every user page of every task: recorded PA == mm-vtop through the task's pgd;
        // for the running task also == mm-vtop through TTBR0 == QEMU's gva2gpa.
        let checks = transcript.outputs[2].split(separator: "\n").map { $0.split(separator: " ") }
        #expect(checks.count >= pages, "\(transcript.outputs[2])")
        var running = 0
        for line in checks {
            try #require(line.count == 7 && line[0] == "xcheck", "\(line)")
            #expect(line[3] == line[4], "pid \(line[1]) va \(line[2]): recorded \(line[3]), mm-vtop \(line[4])")
            if line[5] != "-" {
                running += 1
                #expect(line[5] == line[3] && line[6] == line[3], "pid \(line[1]) va \(line[2]): \(line)")
            }
        }
        #expect(running > 0, "the running task has user pages: \(transcript.outputs[2])")

        // Walking the running task's own mm.pgd gives exactly the CPU's TTBR0_EL1 view.
        let viaTTBR0 = try #require(rawRuns(transcript.outputs[3]))
        #expect(!viaTTBR0.isEmpty && viaTTBR0 == rawRuns(transcript.outputs[4]), "\(transcript.outputs[3])\n\(transcript.outputs[4])")

        // The running task's saved EL0 frame holds the faulting PC, which is ELR_EL1 in the handler.
        let elr = try #require(transcript.outputs[6].split(separator: " ", omittingEmptySubsequences: true).dropFirst().first,
                               "\(transcript.outputs[6])")
        #expect(transcript.outputs[5].contains("trap frame (EL0): elr \(elr) "), "\(transcript.outputs[5])")
        #expect(transcript.outputs[5].contains("[current]"), "\(transcript.outputs[5])")
    }

    @Test func failingAPageAllocationPrintsTheOOMMarker() throws {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        let transcript = try target.gdb(setup: firstDataAbortSetup(fixture: "task_crosscheck.py") + [
            "mm-fail get_free_page --nth 1 --return 0",
            "break *mm_uart_putc if $x0 == 10", "continue",
        ], ["mm-log --last 1", "mm-fail --list"])
        try #require(transcript.outputs.count == 2, "\(transcript.all)")
        #expect(transcript.outputs[0].hasPrefix(MM_MARK_OOM), "\(transcript.all)")
        #expect(transcript.outputs[1].contains("get_free_page --nth 1 --return 0x0: injected"), "\(transcript.all)")
        try target.qemu.waitForOutput(containing: MM_MARK_OOM, timeout: 30)
    }
}
