import Foundation
import QEMULauncher

/// Finds tools the tests need. A missing tool is a test FAILURE that says
/// what to install, never a skip.
public enum Tools {
    public struct Missing: Error, CustomStringConvertible {
        public let description: String
    }

    public static func require(_ name: String, package: String) throws -> String {
        guard let path = QEMUInstance.findExecutable(name) else {
            throw Missing(description: "\(name) is missing: install it with `apt-get install -y \(package)`")
        }
        return path
    }

    /// The bundled kernel image; fails with the command that builds it.
    public static func kernelImage() throws -> String {
        _ = try require("qemu-system-aarch64", package: "qemu-system-arm")
        let path = KernelImage.defaultPath()
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "kernel image \(path) is missing: run `scripts/build-kernel.sh` (scripts/test.sh does)")
        }
        return path
    }
}
