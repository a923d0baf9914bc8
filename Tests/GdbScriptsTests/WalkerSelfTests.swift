import Foundation
import Testing
import TestSupport

/// Runs `python3 -m unittest -v MODULE` in Fixtures with PYTHONPATH=gdb (no gdb, no QEMU);
/// returns (exit status, stdout and stderr together).
func runPythonUnittest(_ module: String) throws -> (Int32, String) {
    let python = try Tools.require("python3", package: "python3")
    let root = try GdbBatch.packageRoot()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-m", "unittest", "-v", module]
    process.currentDirectoryURL = root.appendingPathComponent("Tests/GdbScriptsTests/Fixtures")
    var environment = ProcessInfo.processInfo.environment
    environment["PYTHONPATH"] = root.appendingPathComponent("gdb").path
    environment["PYTHONDONTWRITEBYTECODE"] = "1"
    environment["MMDBG_WALKER_VECTORS"] = root.appendingPathComponent("Tests/Vectors/translation").path
    environment["MMDBG_GDB_DIR"] = root.appendingPathComponent("gdb").path
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

@Suite("gdb/mm_aarch64.py on synthetic memory and the shared walker vectors")
struct WalkerSelfSystemTests {
    /// Runs Fixtures/walker_selftest.py (Python unittest, no gdb) against gdb/mm_aarch64.py:
    /// its own cases and every file of Tests/Vectors/translation, whose expected values Inspect wrote.
    @Test func everyGranuleBlockLevelMalformedDescriptorAndSharedVector() throws {
        let root = try GdbBatch.packageRoot()
        let folder = root.appendingPathComponent("Tests/Vectors/translation")
        let vectors = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        // InspectTests' WalkerVectorTests holds the folder to its catalog; an empty folder must fail here too.
        #expect(vectors.count >= 20, "only \(vectors.count) walker vectors in \(folder.path)")
        let (status, text) = try runPythonUnittest("walker_selftest")
        #expect(status == 0, "\(text)")
        #expect(text.contains("\nwalker vectors checked: \(vectors.count)\n"), "\(text)")
    }
}

@Suite("gdb/ modules import one another as a DAG")
struct GdbModuleImportSystemTests {
    /// Runs Fixtures/gdb_import_graph.py: every import in gdb/*.py, including imports inside functions.
    @Test func noGdbModuleImportsAnotherInACycle() throws {
        let (status, text) = try runPythonUnittest("gdb_import_graph")
        #expect(status == 0, "\(text)")
        #expect(text.contains("gdb modules checked: "), "\(text)")
    }
}
