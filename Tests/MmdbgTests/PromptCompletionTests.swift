import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// TAB at the prompt through a pseudo-terminal, for what needs a stopped kernel (task ids).
    @Suite("TAB completion at the prompt", .serialized)
    struct PromptCompletionTests {
        @Test func oneTabListsTaskIDsAndKeywords() throws {
            let terminal = try TerminalSession(arguments: [])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at")
            terminal.type("break *sys_fork\ncontinue\n")
            try terminal.waitFor("(mmdbg stopped at sys_fork task 1) ")
            // One TAB: nothing can be inserted, so readline lists the candidates at once.
            terminal.type("pt \t")
            let listed = try terminal.waitFor("kernel")
            let words = listed.split(whereSeparator: \.isWhitespace).map(String.init)
            #expect(words.suffix(4) == ["0", "1", "diff", "kernel"], "\(listed.debugDescription)")
            terminal.type("\u{15}info \t")
            try terminal.waitFor("watchpoints")
            terminal.type("\u{15}quit\n")
            try terminal.expectExit(0)
        }
    }
}
