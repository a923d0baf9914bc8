import Foundation
import Testing

extension SystemTests {
    /// Task and page-table views on the real kernel, cross-checked against
    /// each other and against QEMU's own translation.
    @Suite("mmdbg kernel views on the real kernel")
    struct KernelViewTests {
        @Test func tasksTaskVtopAndThePromptAgree() throws {
            let setup = try MmdbgBinary.run(["--json", "-ex", "break sys_fork", "-ex", "continue", "-ex", "task 1"])
            try #require(setup.status == 0, "stderr: \(setup.stderr)")
            let pages = try #require(try setup.jsonDocuments()[2].result?.array("userPageList"))
            try #require(!pages.isEmpty, "init has user pages")
            var arguments = ["--json", "-ex", "break sys_fork", "-ex", "continue", "-ex", "tasks", "-ex", "status"]
            for page in pages {
                let va = try #require(page.string("va"))
                arguments += ["-ex", "vtop \(va) --pid 1", "-ex", "monitor gva2gpa \(va)"]
            }
            let run = try MmdbgBinary.run(arguments)
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 4 + 2 * pages.count)
            let tasks = try #require(docs[2].result?.array("tasks"))
            let current = try #require(tasks.first { $0["current"] as? Bool == true })
            #expect(current["pid"] as? Int == 1, "init is current in sys_fork")
            #expect(docs[3].result?.object("target")?["task"] as? Int == 1, "the prompt's task is mm_current's pid")
            for (i, page) in pages.enumerated() {
                let vtop = try #require(docs[4 + 2 * i].result)
                let gva2gpa = try #require(docs[5 + 2 * i].result?.string("output"))
                #expect(vtop.address("pa") == page.address("pa"), "the walk of init's tables finds the page the kernel recorded")
                let qemuPA = gva2gpa.split(separator: " ").last.flatMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst(2), radix: 16) }
                #expect(vtop.address("pa") == qemuPA, "and QEMU agrees: \(gva2gpa)")
            }
        }

        @Test func ptDiffSeesTheForkedChild() throws {
            let run = try MmdbgBinary.run(["--json", "-ex", "break sys_fork", "-ex", "continue", "-ex", "snapshot before",
                                           "-ex", "finish", "-ex", "pt diff before", "-ex", "tasks", "-ex", "pt diff"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 7)
            let child = try #require(docs[3].result?.string("reason")).dropFirst("returned (x0 = ".count).prefix { $0 != ")" }
            let childPID = try #require(Int(child.dropFirst(2), radix: 16))
            let changes = try #require(docs[4].result?.array("changes"))
            #expect(changes.contains { $0.string("space") == "pid \(childPID)" && $0.string("kind") == "appeared" })
            let tasks = try #require(docs[5].result?.array("tasks"))
            #expect(tasks.contains { $0["pid"] as? Int == childPID && $0["ppid"] as? Int == 1 })
            #expect(docs[6].result?.array("changes") != nil, "pt diff against the previous stop answers")
        }

        @Test func checkIsCleanOnTheHealthyKernelAndLogMatchesTheUART() throws {
            let run = try MmdbgBinary.run(["--json", "--append", "linear=pages", "-ex", "break sys_fork", "-ex", "continue",
                                           "-ex", "check", "-ex", "log", "-ex", "uart", "-ex", "pt kernel"])
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let docs = try run.jsonDocuments()
            try #require(docs.count == 6)
            let check = try #require(docs[2].result)
            #expect(check["clean"] as? Bool == true, "findings: \(check["findings"] ?? "")")
            #expect((check["tasksChecked"] as? Int ?? 0) >= 1)
            // The kernel log ring holds what the kernel printed: its lines appear on the serial console too.
            let log = try #require(docs[3].result?["lines"] as? [String])
            let uart = try #require(docs[4].result?["lines"] as? [String])
            #expect(!log.isEmpty)
            for line in log.suffix(3) { #expect(uart.contains(line), "log line \(line) is on the UART") }
            // linear=pages: the kernel half is mapped with 4 KiB pages (128 MiB = 32768 of them).
            let statistics = try #require(docs[5].result?.object("statistics"))
            #expect(statistics["pages"] as? Int == 32768)
        }

        @Test func idleHasNoAddressSpaceToWalk() throws {
            // Idle's pgd is 0: walking "its" tables would read PA 0 as a page table.
            let run = try MmdbgBinary.run(["--json", "-ex", "break sys_fork", "-ex", "continue", "-ex", "tasks",
                                           "-ex", "pt 0", "-ex", "vtop 0x400000 --pid 0", "-ex", "pt 1"])
            let docs = try run.jsonDocuments()
            try #require(docs.count == 6, "stderr: \(run.stderr)")
            let idle = try #require(docs[2].result?.array("tasks")?.first { $0["pid"] as? Int == 0 })
            #expect(idle.address("pgd") == 0 && idle.string("name") == "idle")
            #expect(docs[3].string("error") == "task 0 (idle) has no address space")
            #expect(docs[4].string("error") == "task 0 (idle) has no address space")
            #expect(docs[5].ok, "init's tables walk as before")
            #expect(run.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("error:") }
                    == ["error: task 0 (idle) has no address space", "error: task 0 (idle) has no address space"])
        }

        @Test func checkBeforeTheKernelSetItselfUpIsAnErrorNotClean() throws {
            // Stopped at the first instruction: the task table and page pool are still zero.
            let run = try MmdbgBinary.run(["--json", "-ex", "check"])
            #expect(run.status == 1)
            let error = try #require(try run.jsonDocuments().first?.string("error"))
            #expect(error.contains("kernel structures are not initialised yet: the task table is empty and the page pool has no pages"), "\(error)")
        }
    }
}
