import Foundation
import QEMULauncher

/// Finds the kernel to boot, building the bundled one with
/// scripts/build-kernel.sh when it is missing; a given file must be bootable.
enum KernelBuilder {
    static func ensureKernel(explicit: String?, reporter: (String) -> Void) throws -> String {
        if let explicit {
            guard FileManager.default.fileExists(atPath: explicit) else {
                reporter("error: kernel image \(explicit) not found")
                throw ProcessExit(status: .cannotConnect)
            }
            do throws(BootableImage.Problem) { try BootableImage.check(explicit) } catch {
                reporter("error: \(error.description)")
                throw ProcessExit(status: .cannotConnect)
            }
            return explicit
        }
        let path = KernelImage.defaultPath()
        if FileManager.default.fileExists(atPath: path) { return path }
        guard let root = KernelImage.packageRoot() else {
            reporter("error: kernel image \(path) not found and no package root to build it in (set MMDBG_ROOT or pass --kernel)")
            throw ProcessExit(status: .cannotConnect)
        }
        reporter("building the kernel (scripts/build-kernel.sh)…")
        let build = Process()
        build.executableURL = URL(fileURLWithPath: "/bin/bash")
        build.arguments = [root.appendingPathComponent("scripts/build-kernel.sh").path]
        build.currentDirectoryURL = root
        build.standardOutput = FileHandle.nullDevice
        do {
            try build.run()
            build.waitUntilExit()
        } catch {
            reporter("error: could not run scripts/build-kernel.sh: \(error)")
            throw ProcessExit(status: .cannotConnect)
        }
        guard build.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
            reporter("error: scripts/build-kernel.sh failed (status \(build.terminationStatus))")
            throw ProcessExit(status: .cannotConnect)
        }
        return path
    }
}
