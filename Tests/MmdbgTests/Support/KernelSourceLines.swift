import Foundation
import QEMULauncher

/// Lines of the kernel's own source, found by their text, so tests that name a
/// `FILE:LINE` follow the kernel as it changes instead of pinning numbers.
enum KernelSourceLines {
    struct Missing: Error, CustomStringConvertible { let description: String }

    /// The first line (1-based number and its text) at or after line `after` of
    /// `file` (relative to the package root) that contains `needle`.
    static func find(_ needle: String, in file: String, after: Int = 0) throws -> (number: Int, text: String) {
        guard let root = KernelImage.packageRoot(),
              let text = try? String(contentsOf: root.appendingPathComponent(file), encoding: .utf8) else {
            throw Missing(description: "cannot read \(file) from the package root")
        }
        let lines = text.components(separatedBy: "\n")
        for index in max(0, after - 1)..<lines.count where lines[index].contains(needle) {
            return (index + 1, lines[index])
        }
        throw Missing(description: "no line containing \"\(needle)\" in \(file) after line \(after)")
    }
}
