import Foundation
import TestSupport

/// Runs mmdbg under a pseudo-terminal (util-linux `script`, which makes the
/// pty the child's controlling terminal, so a typed Ctrl-C becomes SIGINT
/// exactly as for a user) and lets a test type and read.
final class TerminalSession {
    private let process = Process()
    private let input = Pipe()
    private let collector = OutputCollector()
    private var mark = 0

    /// The readline history file mmdbg keeps (`MMDBG_HISTORY`): a fresh
    /// temporary file, removed by `stop()`.
    let history = FileManager.default.temporaryDirectory
        .appendingPathComponent("mmdbg-history-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path

    /// `colour: false` sets NO_COLOR so transcripts are plain text.
    init(arguments: [String], colour: Bool = false) throws {
        let script = try Tools.require("script", package: "bsdutils")
        let binary = try MmdbgBinary.path()
        _ = try Tools.kernelImage()
        let commandLine = ([binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            .joined(separator: " ")
        process.executableURL = URL(fileURLWithPath: script)
        // `script -c` runs the line with $SHELL. `exec` makes mmdbg the only
        // process in the terminal's foreground group whatever that shell is:
        // dash, left waiting as the parent, would die of the Ctrl-C the test
        // types and `script -e` would report its 130 instead of mmdbg's status.
        process.arguments = ["-q", "-f", "-e", "-c", "exec " + commandLine, "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env["SHELL"] = "/bin/sh"
        env["TERM"] = "dumb"
        env["NO_COLOR"] = colour ? nil : "1"
        env["MMDBG_HISTORY"] = self.history
        process.environment = env
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [collector] in collector.append(\.stdout, $0.availableData) }
        try process.run()
    }

    deinit { stop() }

    /// Everything the terminal showed so far.
    var transcript: String { collector.text(\.stdout) }

    func type(_ text: String) {
        input.fileHandleForWriting.write(Data(text.utf8))
    }

    /// Waits until `text` appears after what earlier waits consumed; fails with the transcript.
    @discardableResult
    func waitFor(_ text: String, timeout: Double = 20) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let all = transcript
            let unread = String(all.dropFirst(mark))
            if let range = unread.range(of: text) {
                mark += unread.distance(from: unread.startIndex, to: range.upperBound)
                return String(unread[..<range.upperBound])
            }
            if !process.isRunning { break }
            usleep(10_000)
        }
        throw MmdbgBinary.Failure(description: "terminal never showed \(text.debugDescription) within \(timeout) s; transcript:\n\(transcript)")
    }

    /// Waits for the program to exit and throws, with the transcript, unless
    /// it exited with `expected`.
    func expectExit(_ expected: Int32 = 0, timeout: Double = 20) throws {
        let status = try waitForExit(timeout: timeout)
        guard status == expected else {
            throw MmdbgBinary.Failure(description: "mmdbg exited with \(status), expected \(expected); transcript:\n\(transcript)")
        }
    }

    /// Waits for the program to exit; returns its status.
    func waitForExit(timeout: Double = 20) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            throw MmdbgBinary.Failure(description: "mmdbg did not exit within \(timeout) s; transcript:\n\(transcript)")
        }
        return process.terminationStatus
    }

    /// Kills `script` and its child process group by PID if still running, and
    /// removes the history file.
    func stop() {
        defer { try? FileManager.default.removeItem(atPath: history) }
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}
