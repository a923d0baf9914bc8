import ArgumentParser
import Foundation

/// Process exit statuses, documented in README and `mmdbg --help`.
enum ExitStatus: Int32 {
    case ok = 0
    case commandFailed = 1
    case usage = 2
    case cannotConnect = 3
}

/// Runs the argument parser with mmdbg's exit codes instead of
/// ArgumentParser's (which uses 64 for usage errors).
enum MmdbgCLI {
    static func main() {
        do {
            var command = try RootCommand.parseAsRoot()
            try command.run()
            exit(ExitStatus.ok.rawValue)
        } catch let status as ProcessExit {
            exit(status.status.rawValue)
        } catch {
            let code = RootCommand.exitCode(for: error)
            let message = RootCommand.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(ExitStatus.ok.rawValue)
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            exit(code == .validationFailure ? ExitStatus.usage.rawValue : ExitStatus.commandFailed.rawValue)
        }
    }
}

/// Thrown to end the process with a status after the message was printed.
struct ProcessExit: Error {
    let status: ExitStatus
}

struct RootCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmdbg",
        abstract: "A kernel debugger for the mmdbg AArch64 kernel under QEMU.",
        discussion: """
        With no subcommand mmdbg builds the bundled kernel if needed, boots it under QEMU \
        (stopped at the first instruction, gdbstub on a free port, serial captured), attaches \
        and opens the prompt. `mmdbg attach` debugs a QEMU that is already running.

        Exit status: 0 ok; 1 a command failed (a command's own usage error included); \
        2 mmdbg's arguments are wrong (unknown flag, bad address, unreadable --batch file, \
        scenario or trace); 3 cannot launch or connect (no bootable kernel, no gdbstub).
        """,
        subcommands: [LaunchCommand.self, AttachCommand.self, RunCommand.self, ReplayCommand.self, SweepCommand.self, DapCommand.self],
        defaultSubcommand: LaunchCommand.self
    )
}
