import Foundation

/// Where the bundled kernel image lives: `.build-kernel/kernel.elf` under the
/// package root (built by `scripts/build-kernel.sh`), or `$MMDBG_KERNEL`.
public enum KernelImage {
    public static let relativePath = ".build-kernel/kernel.elf"

    /// The package root: `$MMDBG_ROOT`, else the nearest directory above the
    /// current directory or the running executable that holds Package.swift
    /// and `Sources/Kernel`.
    public static func packageRoot() -> URL? {
        let env = ProcessInfo.processInfo.environment
        if let root = env["MMDBG_ROOT"] { return URL(fileURLWithPath: root) }
        let starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                      URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath().deletingLastPathComponent()]
        for start in starts {
            var dir = start.standardizedFileURL
            while dir.path != "/" {
                let fm = FileManager.default
                if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                   fm.fileExists(atPath: dir.appendingPathComponent("Sources/Kernel").path) {
                    return dir
                }
                dir.deleteLastPathComponent()
            }
        }
        return nil
    }

    /// Path of the kernel ELF (it may not exist yet).
    public static func defaultPath() -> String {
        if let explicit = ProcessInfo.processInfo.environment["MMDBG_KERNEL"] { return explicit }
        let root = packageRoot() ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        return root.appendingPathComponent(relativePath).path
    }
}
