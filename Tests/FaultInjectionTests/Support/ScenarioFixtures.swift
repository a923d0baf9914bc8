import FaultInjection
import Foundation
import QEMULauncher
import TestSupport

/// Paths and builds the fault-injection tests share.
enum ScenarioFixtures {
    struct BuildFailed: Error, CustomStringConvertible {
        let description: String
    }

    static var repositoryRoot: URL {
        KernelImage.packageRoot() ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// Every file of the top-level scenario library, sorted.
    static func libraryPaths() throws -> [String] {
        let directory = repositoryRoot.appendingPathComponent("scenarios")
        return try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".mmdbg") }.sorted()
            .map { directory.appendingPathComponent($0).path }
    }

    static func scenario(_ name: String) throws -> Scenario {
        try Scenario(contentsOf: repositoryRoot.appendingPathComponent("scenarios/\(name).mmdbg").path)
    }

    /// Builds the kernel with `-D<define>` into a fresh scratch directory
    /// (scripts/build-kernel.sh, OUT=…); returns the ELF path. Deadline 600 s.
    static func buildMutant(_ define: String) throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-mutant-\(define)-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent("scripts/build-kernel.sh")
        process.currentDirectoryURL = repositoryRoot
        var environment = ProcessInfo.processInfo.environment
        environment["MMDBG_KERNEL_DEFINES"] = "-D\(define)"
        environment["OUT"] = out.path
        process.environment = environment
        let log = out.path + ".log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(600)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if process.isRunning {
            process.terminate()
            throw BuildFailed(description: "mutant build \(define) did not finish in 600 s (log: \(log))")
        }
        let elf = out.appendingPathComponent("kernel.elf").path
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: elf) else {
            throw BuildFailed(description: "mutant build \(define) failed with status \(process.terminationStatus) (log: \(log))")
        }
        return elf
    }
}
