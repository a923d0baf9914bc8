import Foundation
import Testing

/// The fast set (`swift test --skip SystemTests`, README) stays fast only if
/// every suite that boots QEMU, runs gdb or starts another process says so in
/// its name. This checks the convention on the test sources themselves: a
/// file with tests that uses one of the system helpers must name its suites
/// `…SystemTests` (or nest them in MmdbgTests' `SystemTests`).
@Suite("Test marking: system tests are named so the fast set can skip them")
struct TestMarkingTests {
    static let systemHelpers = ["QEMUInstance(", "StoppedKernel(", "DebuggableQEMU", "QEMUGdbSession", "MmdbgBinary.run",
                                "TerminalSession(", "ChildProcess.run", "KernelUnderGdb", "GdbBatch", "HostProcess",
                                "Tools.require(", "Process()"]

    @Test func everySuiteThatStartsAProcessIsNamedSystemTests() throws {
        let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        let files = try #require(FileManager.default.enumerator(atPath: tests.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") && !$0.hasSuffix("TestMarkingTests.swift") }
        var checked = 0
        for file in files {
            let text = try String(contentsOf: tests.appendingPathComponent(file), encoding: .utf8)
            guard text.contains("@Test") else { continue }
            checked += 1
            let helpers = Self.systemHelpers.filter { text.contains($0) }
            if !helpers.isEmpty {
                #expect(text.contains("SystemTests"), "\(file) uses \(helpers) but names no suite …SystemTests")
            }
        }
        #expect(checked > 60, "test sources found under \(tests.path): \(checked)")
    }
}
