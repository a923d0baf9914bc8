import Foundation
import GdbRemote
import Inspect
import QEMULauncher

/// The launcher's shared RAM files as tests see them.
public enum SharedRAMFiles {
    /// Files named `mmdbg-ram-<hostPID>-*` still present in /dev/shm or the
    /// temporary directory: what a host with that PID left behind.
    public static func left(byHost hostPID: Int32) -> [String] {
        let prefix = "mmdbg-ram-\(hostPID)-"
        var found: [String] = []
        for directory in ["/dev/shm", FileManager.default.temporaryDirectory.path] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            found += names.filter { $0.hasPrefix(prefix) }.map { "\(directory)/\($0)" }
        }
        return found
    }

    /// The description of `qemu`'s RAM file for the memory selector (nil when QEMU has none).
    public static func launched(_ qemu: QEMUInstance) -> LaunchedRAMFile? {
        qemu.sharedRAM.map { LaunchedRAMFile(descriptor: $0.fileDescriptor, size: $0.size, backendID: $0.backendID, qemuPID: qemu.pid) }
    }
}
