import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// `print`, `ptype` and `whatis` of the kernel's C globals against gdb-multiarch's on the same
    /// stop of the same QEMU (mmdbg reads, closes without detaching, then gdb attaches), as
    /// SourceDebugVersusGdbSystemTests does for `bt`. Only gdb's `$N = ` prefix is normalised away.
    @Suite("print and ptype beside gdb-multiarch on the same stop")
    struct TypedDataVersusGdbSystemTests {
        static let commands = [
            "print mm_pool", "print *mm_current", "print mm_tasks[1].mm.brk", "ptype struct mm_task",
            "print mm_current", "print mm_current->name", "print/x mm_current->mm.user_pages[0]",
            "print mm_tasks[0].pid + mm_tasks[1].pid * 3 - 1", "print sizeof(struct mm_task)",
            "print &mm_tasks[2] - &mm_tasks[0]", "print (mm_pool.free_pages << 12) >> 3",
            "print mm_pool.free_pages > mm_pool.alloc_count && mm_current->pid == 1",
            "print/x mm_pool.free_list", "print ((struct mm_task *)&mm_tasks[1])->mm.pgd",
            "print mm_tasks[1].mm.kernel_pages", "whatis mm_tasks", "whatis mm_current->mm",
            "ptype mm_current", "ptype struct mm_page_pool", "print -mm_current->pid % 7", "print $pc", "print $sp",
            "whatis $pc", "print mm_cpus[0]", "print/x mm_cpus[0].current", "print mm_current->name[0] == 'i'",
            "print mm_current->name[1]", "print/c 65", "print/t mm_current->state", "print (unsigned char)-1",
            "whatis uint64_t", "ptype uint64_t", "whatis struct mm_task", "ptype 1 + 2", "whatis (char)1",
        ]

        @Test func printAndPtypeMatchGdb() throws {
            let kernel = try Tools.kernelImage()
            var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
            configuration.icountShift = 4
            let qemu = try QEMUInstance(configuration)
            defer { qemu.stop() }
            let address = try #require(qemu.gdbAddress)
            let session = Session()
            session.symbols = try ELFSymbolTable(path: kernel)
            try session.attach(to: address)
            for line in ["break sys_fork", "continue --timeout 30", "continue --timeout 30", "delete"] {
                let result = session.execute(line: line)
                try #require(result.succeeded, "\(line): \(String(describing: result.error))")
            }
            var ours: [String] = []
            for command in Self.commands {
                let result = session.execute(line: command)
                guard case .success(let output) = result.outcome else {
                    ours.append("error: \(String(describing: result.error))")
                    continue
                }
                ours.append(TextRenderer(colour: false).render(output).trimmingCharacters(in: .whitespacesAndNewlines)
                    .replacing(#/^\$\d+ = /#, with: ""))
            }
            // Close without `D`: QEMU stays paused for gdb.
            session.target?.close()

            let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
            let marker = "@@typed-data@@"
            var arguments = ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set confirm off",
                             "-ex", "file \(kernel)", "-ex", "target remote \(address)",
                             // The stop is in a Swift frame, where gdb leaves C (its literals become `long`); mmdbg's language is C.
                             "-ex", "set language c"]
            for command in Self.commands { arguments += ["-ex", "echo \(marker)\\n", "-ex", command] }
            arguments += ["-ex", "echo \(marker)\\n"]
            let result = try ChildProcess.run(gdb, arguments, timeout: 60)
            let pieces = Array(result.stdout.components(separatedBy: "\(marker)\n").dropFirst().dropLast())
            try #require(pieces.count == Self.commands.count, "gdb printed:\n\(result.combined)")
            for (index, command) in Self.commands.enumerated() {
                let theirs = pieces[index].trimmingCharacters(in: .whitespacesAndNewlines)
                    .replacing(#/^\$\d+ = /#, with: "")
                #expect(ours[index] == theirs, "\(command):\nmmdbg: \(ours[index])\ngdb:   \(theirs)")
            }
        }
    }
}
