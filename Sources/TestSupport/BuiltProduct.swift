import Foundation
import QEMULauncher

/// Finds an executable this package builds (mmdbg, qemu-launch-probe…) for
/// tests that run it as a child process.
public enum BuiltProduct {
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    /// `$<NAME>_BIN` if set (NAME upper-cased, '-' as '_'), else next to the test
    /// bundle (up to three levels up), else `.build/debug/<name>` in the package root.
    public static func path(_ name: String) throws -> String {
        let variable = name.uppercased().replacingOccurrences(of: "-", with: "_") + "_BIN"
        if let explicit = ProcessInfo.processInfo.environment[variable] { return explicit }
        var candidates: [String] = []
        var directory = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent(name).path)
            directory.deleteLastPathComponent()
        }
        if let root = KernelImage.packageRoot() {
            candidates.append(root.appendingPathComponent(".build/debug/\(name)").path)
        }
        for candidate in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.isExecutableFile(atPath: candidate),
               FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
        }
        throw Missing(description: "the \(name) executable was not found (tried \(candidates.joined(separator: ", "))): run `swift build --product \(name)`")
    }
}
