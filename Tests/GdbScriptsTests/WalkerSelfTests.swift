import Foundation
import Testing
import TestSupport

@Suite("gdb/mm_aarch64.py on synthetic memory")
struct WalkerSelfTests {
    /// Runs Fixtures/walker_selftest.py (Python unittest, no gdb) against gdb/mm_aarch64.py.
    @Test func everyGranuleBlockLevelAndMalformedDescriptor() throws {
        let python = try Tools.require("python3", package: "python3")
        let root = try GdbBatch.packageRoot()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "unittest", "-v", "walker_selftest"]
        process.currentDirectoryURL = root.appendingPathComponent("Tests/GdbScriptsTests/Fixtures")
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = root.appendingPathComponent("gdb").path
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("Ran 13 tests"), "\(text)")
    }
}
