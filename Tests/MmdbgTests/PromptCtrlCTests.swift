import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// Ctrl-C at the prompt (not during a command): interrupts a target left running,
    /// else drops the half-typed line like gdb and bash. Waits on what the terminal shows.
    @Suite("Ctrl-C at the prompt", .serialized)
    struct PromptCtrlCTests {
        @Test func ctrlCAtThePromptInterruptsATargetLeftRunning() throws {
            let guest = try TinyGuest.image()
            let terminal = try TerminalSession(arguments: ["--kernel", guest])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at _start) ")
            terminal.type("continue --no-wait\n")
            try terminal.waitFor("(mmdbg running) ")
            terminal.type("\u{03}")
            try terminal.waitFor("interrupted: stopped at loop")
            try terminal.waitFor("(mmdbg stopped at loop")
            terminal.type("status\n")
            try terminal.waitFor("qemu running: yes")
            terminal.type("quit\n")
            try terminal.expectExit(0)
        }

        @Test func ctrlCDiscardsAHalfTypedLine() throws {
            let guest = try TinyGuest.image()
            let terminal = try TerminalSession(arguments: ["--kernel", guest])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at _start) ")
            terminal.type("frobnicate")
            try terminal.waitFor("frobnicate")
            terminal.type("\u{03}")
            // A fresh prompt, then the next line runs alone: the dropped text never reaches the session.
            try terminal.waitFor("(mmdbg stopped at _start) ")
            terminal.type("status\n")
            try terminal.waitFor("qemu running: yes")
            terminal.type("quit\n")
            try terminal.expectExit(0)
            #expect(!terminal.transcript.contains("unknown command"), "\(terminal.transcript)")
            let saved = try String(contentsOfFile: terminal.history, encoding: .utf8)
            #expect(!saved.contains("frobnicate") && saved.contains("status"))
        }
    }
}
