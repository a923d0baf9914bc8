import Testing
import Foundation
import TestSupport

/// Part 2's functions a debugger breaks on or forces to fail: plain
/// symbols, no specialised clones, and really called by name.
@Suite("Kernel part 2 ELF symbols") struct TaskSymbolSystemTests {
    /// Called through `bl <name>` somewhere in the image.
    static let calledByName = ["sys_write", "sys_getpid", "sys_fork", "sys_exit", "sys_wait", "sys_brk",
                               "sys_yield", "sys_sleep", "sys_free_pages", "sys_pool_limit",
                               "copy_process", "reap_task", "exit_process", "cpu_switch_to",
                               "do_data_abort", "do_instruction_abort", "do_el0_sync_fault",
                               "copy_virt_memory"]

    @Test func plainSymbolsCalledByName() throws {
        let kernel = try Tools.kernelImage()
        let objdump = try Tools.require("llvm-objdump", package: "llvm")
        let disassembly = try disassemble(kernel, with: objdump)
        for name in Self.calledByName {
            #expect(disassembly.contains("<\(name)>:\n"), "\(name) is not a function in the image")
            #expect(disassembly.range(of: #"\$e\d+\#(name)T"#, options: .regularExpression) == nil,
                    "\(name) has a specialised clone: callers may bypass the plain symbol")
            // bl, or b for a tail call: either way the entry breakpoint hits.
            #expect(disassembly.range(of: #"\sbl?\s+0x[0-9a-f]+ <\#(name)>"#, options: .regularExpression) != nil,
                    "nobody calls \(name) by its symbol (inlined?)")
        }
        // The first switch to a new task lands on ret_from_fork by address.
        #expect(disassembly.contains("<ret_from_fork>:\n"))
    }

    private func disassemble(_ kernel: String, with objdump: String) throws -> String {
        try ChildProcess.run(objdump, ["-d", "--no-show-raw-insn", kernel], timeout: 60).stdout
    }
}
