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

    /// The files of `left(byHost:)` that are still there once every launch under way has had
    /// time to finish: tests in the same process start QEMUs in parallel, and each one's RAM
    /// file exists by name for the moment between its creation and QEMU mapping it. A file
    /// seen now counts only if it outlives `seconds` (the launch deadline); polls, so a clean
    /// state answers at once and a brief launch costs only its own window.
    public static func lingering(byHost hostPID: Int32, within seconds: Double = 30) -> [String] {
        lingering(within: seconds) { left(byHost: hostPID) }
    }

    /// `list()`'s entries that are still listed after `seconds`: the leftovers of a check that
    /// races with parallel work creating (and soon removing) entries of the same names.
    public static func lingering(within seconds: Double, _ list: () -> [String]) -> [String] {
        var seen = Set(list())
        let deadline = Date().addingTimeInterval(seconds)
        while !seen.isEmpty && Date() < deadline {
            usleep(100_000)
            seen.formIntersection(list())
        }
        return seen.sorted()
    }

    /// The description of `qemu`'s RAM file for the memory selector (nil when QEMU has none).
    public static func launched(_ qemu: QEMUInstance) -> LaunchedRAMFile? {
        qemu.sharedRAM.map { LaunchedRAMFile(descriptor: $0.fileDescriptor, size: $0.size, backendID: $0.backendID, qemuPID: qemu.pid) }
    }
}
