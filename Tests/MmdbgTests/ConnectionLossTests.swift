import Foundation
import QEMULauncher
import Testing
import TestSupport

extension SystemTests {
    /// A lost connection gives one error line, keeps what the session learned,
    /// and `attach` re-attaches.
    @Suite("mmdbg lost connection and re-attach", .serialized)
    struct ConnectionLossTests {
        @Test func lostConnectionKeepsBreakpointsAndReattaches() throws {
            let guest = try TinyGuest.image()
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-reattach-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let socket = dir.appendingPathComponent("gdb.sock").path
            var configuration = QEMUConfiguration(kernel: guest)
            configuration.gdb = .unixSocket(path: socket)
            configuration.stoppedAtEntry = true
            let first = try QEMUInstance(configuration)
            defer { first.stop() }
            let terminal = try TerminalSession(arguments: ["attach", socket])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at 0x40080000) ")
            let store = "0x" + String(TinyGuest.counterStore, radix: 16)
            terminal.type("break \(store)\n")
            try terminal.waitFor("breakpoint 1 at")

            first.stop()
            terminal.type("regs pc\n")
            try terminal.waitFor("error: connection lost:")
            try terminal.waitFor("use `attach` to re-attach")
            try terminal.waitFor("(mmdbg connection lost) ")
            terminal.type("info breaks\n")
            try terminal.waitFor("0x0000000040080108")

            try FileManager.default.removeItem(atPath: socket)  // QEMU would otherwise look ready at once
            let second = try QEMUInstance(configuration)
            defer { second.stop() }
            terminal.type("attach\n")
            try terminal.waitFor("attached to \(socket)")
            // The breakpoint the session kept is in the new stub too.
            terminal.type("continue\n")
            try terminal.waitFor("breakpoint 1: stopped at 0x40080108")
            terminal.type("quit\n")
            try terminal.expectExit(0)
            #expect(second.isRunning, "quit detached from a QEMU mmdbg did not launch")
        }

        @Test func launchedQEMUThatDiesGivesOneLineAndThePromptStays() throws {
            let guest = try TinyGuest.image()
            let terminal = try TerminalSession(arguments: ["--kernel", guest])
            defer { terminal.stop() }
            try terminal.waitFor("(mmdbg stopped at _start) ")
            let qemu = try terminal.launchedQEMUStatus()
            try #require(qemu.running)
            kill(qemu.pid, SIGKILL)
            // Until mmdbg has reaped its QEMU, the dead stub reads as a lost
            // connection; once `status` says it is not running, it is "exited".
            let deadline = Date().addingTimeInterval(30)
            var running = true
            while running && Date() < deadline {
                running = try terminal.launchedQEMUStatus().running
                if running { usleep(50_000) }
            }
            try #require(!running, "mmdbg never noticed QEMU \(qemu.pid) died; transcript:\n\(terminal.transcript)")
            terminal.type("regs pc\n")
            try terminal.waitFor("error: QEMU exited (")
            terminal.type("uart\n")
            try terminal.waitFor("(mmdbg exited) ")
            terminal.type("quit\n")
            try terminal.expectExit(0)
        }
    }
}
