import Foundation
import Testing

/// The interactive prompt through a pseudo-terminal.
@Suite("mmdbg prompt through a pseudo-terminal", .serialized)
struct PromptTests {
    private func temporaryHistory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-history-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    }

    @Test func historyIsWrittenAndCompletionWorks() throws {
        let history = temporaryHistory()
        defer { try? FileManager.default.removeItem(atPath: history) }
        let terminal = try TerminalSession(arguments: [], environment: ["MMDBG_HISTORY": history])
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
        #expect(try terminal.waitForExit() == 0)
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        #expect(saved.contains("help addr"))
        #expect(saved.contains("status"))
        #expect(saved.contains("quit"))
    }

    @Test func ctrlCAtThePromptDoesNotKillMmdbg() throws {
        let history = temporaryHistory()
        defer { try? FileManager.default.removeItem(atPath: history) }
        let terminal = try TerminalSession(arguments: [], environment: ["MMDBG_HISTORY": history])
        defer { terminal.stop() }
        try terminal.waitFor("(mmdbg ")
        terminal.type("\u{03}")
        usleep(200_000)
        terminal.type("\u{15}status\n")
        try terminal.waitFor("qemu running: yes")
        terminal.type("quit\n")
        #expect(try terminal.waitForExit() == 0)
    }
}
