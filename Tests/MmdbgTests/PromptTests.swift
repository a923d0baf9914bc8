import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// The interactive prompt through a pseudo-terminal.
    @Suite("mmdbg prompt through a pseudo-terminal", .serialized)
    struct PromptTests {
        @Test func historyIsWrittenAndCompletionWorks() throws {
            let terminal = try TerminalSession(arguments: [])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg ")
            terminal.type("help addr\n")
            try terminal.waitFor("addr map_page")
            // Option completion: `--ph` alone is an unknown option; TAB makes it `--phys`.
            terminal.type("x 0x40080000 --ph")
            terminal.type("\t")
            try terminal.waitFor("ys")
            terminal.type("\u{15}")  // Ctrl-U: drop the line
            // Command completion: `monit` + TAB → `monitor `.
            terminal.type("monit\t")
            try terminal.waitFor("or ")
            terminal.type("\u{15}status\n")
            try terminal.waitFor("launched by mmdbg")
            terminal.type("quit\n")
            try terminal.expectExit(0)
            let saved = try String(contentsOfFile: terminal.history, encoding: .utf8)
            #expect(saved.contains("help addr"))
            #expect(saved.contains("status"))
            #expect(saved.contains("quit"))
        }

        @Test func ctrlCAtThePromptDoesNotKillMmdbg() throws {
            let terminal = try TerminalSession(arguments: [])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg ")
            terminal.type("\u{03}")
            usleep(200_000)
            terminal.type("\u{15}status\n")
            try terminal.waitFor("qemu running: yes")
            terminal.type("quit\n")
            try terminal.expectExit(0)
        }

        @Test func ctrlCInterruptsARunningTargetAndThePromptShowsTheState() throws {
            let guest = try TinyGuest.image()
            let terminal = try TerminalSession(arguments: ["--kernel", guest])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at _start) ")
            let qemu = try terminal.launchedQEMUStatus()
            #expect(qemu.running)
            terminal.type("continue\n")
            // Only Ctrl-C can stop the guest now. A Ctrl-C typed before `continue`
            // runs is the prompt's and is dropped, so wait until the guest runs
            // (its QEMU burns CPU), and type it again should a loaded host still lose it.
            #expect(HostProcess.waitForCPUUse(of: qemu.pid, seconds: 0.2, within: 30),
                    "the guest never ran after continue; transcript:\n\(terminal.transcript)")
            terminal.type("\u{03}")
            try terminal.waitFor("interrupted by Ctrl-C: stopped at loop", retyping: "\u{03}", every: 5)
            try terminal.waitFor("(mmdbg stopped at loop")
            terminal.type("x counter 1 /g\n")
            try terminal.waitFor("<counter>:")
            terminal.type("quit\n")
            try terminal.expectExit(0)
        }

        @Test func symbolAndRegisterCompletion() throws {
            let guest = try TinyGuest.image()
            let terminal = try TerminalSession(arguments: ["--kernel", guest])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at")
            // `wat` + TAB → the symbol `watched` (the guest's only symbol starting so).
            terminal.type("addr wat\t")
            try terminal.waitFor("addr watched ")
            terminal.type("\n")
            try terminal.waitFor("watched = 0x0000000040081008")
            // `$cps` + TAB → `$cpsr` (registers complete with their `$`, names from the target description).
            terminal.type("x $cps\t")
            try terminal.waitFor("$cpsr ")
            terminal.type("\u{15}quit\n")
            try terminal.expectExit(0)
        }

        @Test func colourOnlyOnATerminal() throws {
            let terminal = try TerminalSession(arguments: [], colour: true)
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg ")
            terminal.type("info breaks\n")
            try terminal.waitFor("\u{1B}[1mID  TYPE")
            terminal.type("frobnicate\n")
            try terminal.waitFor("\u{1B}[31;1merror: \u{1B}[0munknown command")
            terminal.type("quit\n")
            try terminal.expectExit(0)
        }

        @Test func taskIDsCompleteFromTheLiveTaskTable() throws {
            let terminal = try TerminalSession(arguments: [])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at")
            terminal.type("break *sys_fork\ncontinue\n")
            try terminal.waitFor("(mmdbg stopped at sys_fork task 1) ")
            // Two TABs list the candidates: the pids of idle (0) and init (1).
            terminal.type("task \t\t")
            try terminal.waitFor("0  1")
            terminal.type("\u{15}quit\n")
            try terminal.expectExit(0)
        }
    }
}
