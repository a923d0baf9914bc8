import Foundation
import QEMULauncher

/// The kernel built with one `-D<define>` (a `MUTANT_*` bug or layout change) by
/// scripts/build-kernel.sh into a scratch directory of its own. `remove()` deletes the
/// directory and its build log (13 MB a build otherwise left in the temporary directory):
/// call it in a `defer` right after building.
public struct MutantKernel: Sendable {
    public struct BuildFailed: Error, CustomStringConvertible {
        public let description: String
    }

    public let define: String
    /// The ELF (kernel.elf in the scratch directory).
    public let elf: String
    public let directory: String

    /// Builds it; deadline 600 s. Throws with the log's path when the build fails.
    public static func build(_ define: String) throws -> MutantKernel {
        let root = KernelImage.packageRoot() ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-mutant-\(define)-\(UUID().uuidString)")
        let mutant = MutantKernel(define: define, elf: out.appendingPathComponent("kernel.elf").path, directory: out.path)
        let log = out.path + ".log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = root.appendingPathComponent("scripts/build-kernel.sh")
        process.currentDirectoryURL = root
        var environment = ProcessInfo.processInfo.environment
        environment["MMDBG_KERNEL_DEFINES"] = "-D\(define)"
        environment["OUT"] = out.path
        process.environment = environment
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(600)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            mutant.remove(keepingLog: true)
            throw BuildFailed(description: "mutant build \(define) did not finish in 600 s (log: \(log))")
        }
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: mutant.elf) else {
            mutant.remove(keepingLog: true)
            throw BuildFailed(description: "mutant build \(define) failed with status \(process.terminationStatus) (log: \(log))")
        }
        return mutant
    }

    /// Deletes the scratch directory and (unless kept to explain a failure) the build log.
    public func remove(keepingLog: Bool = false) {
        try? FileManager.default.removeItem(atPath: directory)
        if !keepingLog { try? FileManager.default.removeItem(atPath: directory + ".log") }
    }
}
