import Foundation
import QEMULauncher
import TestSupport

/// Runs the real built `mmdbg` executable with a deadline and captures its output.
enum MmdbgBinary {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The stdout lines parsed as JSON objects (for `--json` runs).
        func jsonDocuments() throws -> [[String: Any]] {
            try stdout.split(separator: "\n").map { line in
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw Failure(description: "not a JSON object: \(line)")
                }
                return object
            }
        }
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The executable: `$MMDBG_BIN`, else next to the test bundle, else .build/debug/mmdbg.
    static func path() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["MMDBG_BIN"] { return explicit }
        var candidates: [String] = []
        var dir = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("mmdbg").path)
            dir.deleteLastPathComponent()
        }
        if let root = KernelImage.packageRoot() {
            candidates.append(root.appendingPathComponent(".build/debug/mmdbg").path)
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
        }
        throw Failure(description: "the mmdbg executable was not found (tried \(candidates)): run `swift build --product mmdbg`")
    }

    /// Runs mmdbg with `arguments`, feeding `stdin`; kills it (by PID) after `timeout` seconds.
    static func run(_ arguments: [String], stdin: String? = nil, timeout: Double = 60,
                    environment: [String: String] = [:]) throws -> Run {
        _ = try Tools.kernelImage()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try path())
        process.arguments = arguments
        // NO_COLOR stays unset: output to a pipe must be plain by itself.
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = nil
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let collector = OutputCollector()
        out.fileHandleForReading.readabilityHandler = { collector.append(\.stdout, $0.availableData) }
        err.fileHandleForReading.readabilityHandler = { collector.append(\.stderr, $0.availableData) }
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw Failure(description: "mmdbg \(arguments) did not finish within \(timeout) s; stderr: \(collector.text(\.stderr))")
        }
        process.waitUntilExit()
        usleep(20_000)  // let the readers drain the pipes
        out.fileHandleForReading.readabilityHandler = nil
        err.fileHandleForReading.readabilityHandler = nil
        collector.append(\.stdout, out.fileHandleForReading.readDataToEndOfFile())
        collector.append(\.stderr, err.fileHandleForReading.readDataToEndOfFile())
        return Run(status: process.terminationStatus, stdout: collector.text(\.stdout), stderr: collector.text(\.stderr))
    }
}

/// Thread-safe accumulation of a child's stdout and stderr.
final class OutputCollector: @unchecked Sendable {
    struct Buffers { var stdout = Data(); var stderr = Data() }
    private let lock = NSLock()
    private var buffers = Buffers()

    func append(_ key: WritableKeyPath<Buffers, Data>, _ data: Data) {
        lock.lock(); buffers[keyPath: key].append(data); lock.unlock()
    }

    func text(_ key: KeyPath<Buffers, Data>) -> String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: buffers[keyPath: key], as: UTF8.self)
    }
}

/// True if `pid` is a live process: present and not a zombie (a killed child
/// whose parent exited may linger as a zombie until init reaps it).
func processIsAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state != "Z" && state != "X"
}
