import Foundation
import Testing
import TestSupport

extension SystemTests {
    /// The expression fuzzer as a child process (a trap must not take the test runner with it):
    /// a CI-sized sample; `scripts/fuzz-expressions.sh` runs the 1,000,000 inputs.
    @Suite("print's expression language under generated inputs")
    struct ExpressionFuzzSystemTests {
        @Test func generatedInputsGiveAValueOrOneLine() throws {
            let kernel = try Tools.kernelImage()
            let fuzzer = try BuiltProduct.path("expression-fuzz")
            let run = try ChildProcess.run(fuzzer, ["--count", "15000", "--seed", "14", "--elf", kernel], timeout: 300)
            #expect(run.status == 0, "\(run.combined.suffix(600))")
            let summary = try #require(run.stdout.split(separator: "\n").last.map(String.init))
            #expect(summary.hasSuffix("no violation"), "\(summary)")
            // Both outcomes are exercised: real values from the kernel's DWARF and data, and many kinds of error.
            let values = try #require(summary.firstMatch(of: /: (\d+) values, (\d+) one-line errors of (\d+) kinds/))
            #expect(Int(values.1)! > 1000 && Int(values.2)! > 1000 && Int(values.3)! > 40, "\(summary)")
        }
    }
}
