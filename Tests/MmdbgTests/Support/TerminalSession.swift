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
    /// The default deadline is generous: the first prompt includes booting QEMU
    /// on a host whose two cores other test suites are also using.
    @discardableResult
    func waitFor(_ text: String, timeout: Double = 30) throws -> String {
        try waitFor(text, timeout: timeout, retyping: nil)
    }

    /// Like `waitFor(_:timeout:)`, but types `keys` again every `interval`
    /// seconds until `text` shows: for input that only takes effect once the
    /// program has reached some state (a Ctrl-C for a running `continue`).
    @discardableResult
    func waitFor(_ text: String, retyping keys: String, every interval: Double, timeout: Double = 30) throws -> String {
        try waitFor(text, timeout: timeout, retyping: (keys, interval))
    }

    private func waitFor(_ text: String, timeout: Double, retyping: (keys: String, interval: Double)?) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var nextRetype = retyping.map { Date().addingTimeInterval($0.interval) }
        while Date() < deadline {
            if let retyping, let due = nextRetype, Date() >= due {
                type(retyping.keys)
                nextRetype = Date().addingTimeInterval(retyping.interval)
            }
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
    func expectExit(_ expected: Int32 = 0, timeout: Double = 30) throws {
        let status = try waitForExit(timeout: timeout)
        guard status == expected else {
            throw MmdbgBinary.Failure(description: "mmdbg exited with \(status), expected \(expected); transcript:\n\(transcript)")
        }
    }

    /// Waits for the program to exit; returns its status.
    func waitForExit(timeout: Double = 30) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            throw MmdbgBinary.Failure(description: "mmdbg did not exit within \(timeout) s; transcript:\n\(transcript)")
        }
        return process.terminationStatus
    }

    /// Types `status` and reads the pid of the QEMU mmdbg launched and whether
    /// mmdbg sees it running (it notices a death once it has reaped QEMU).
    func launchedQEMUStatus() throws -> (pid: Int32, running: Bool) {
        type("status\n")
        let fields = try waitFor("qemu running: ")
        let answer = try waitFor("(mmdbg ")  // the prompt after the status
        guard let range = fields.range(of: #"\(pid \d+\)"#, options: [.regularExpression, .backwards]),
              let pid = Int32(fields[range].dropFirst("(pid ".count).dropLast()) else {
            throw MmdbgBinary.Failure(description: "status named no QEMU pid; transcript:\n\(transcript)")
        }
        return (pid, answer.hasPrefix("yes"))
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
