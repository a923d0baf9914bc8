import FaultInjection
import Foundation
import QEMULauncher
import TestSupport

/// Paths and builds the fault-injection tests share.
enum ScenarioFixtures {
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
}
