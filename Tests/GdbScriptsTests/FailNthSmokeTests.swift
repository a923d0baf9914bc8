import Foundation
import KernelABI
import QEMULauncher
import Testing
import TestSupport

/// The fail-nth half of issue 9's smoke comparison: gdb's `mm-fail` against mmdbg's `inject`/`go`
/// (FaultInjection).
extension GdbVersusMmdbgSmokeSystemTests {
    /// One fail-nth injection through each debugger: the first page allocation after the first
    /// data abort returns 0; both see the kernel's OOM marker before the next data abort.
    /// Without -icount: under it, the kernel stalls once gdb has resumed it from a breakpoint
    /// ("icount sleep disabled and no active timers"); the marker does not depend on timing.
    @Test func bothDebuggersSeeTheSameFailNthMarker() throws {
        let target = try KernelUnderGdb()
        defer { target.stop() }
        let gdb = try target.gdb(Self.stop + ["mm-fail get_free_page --nth 1 --return 0", "continue", "mm-log --last 4"])
        let gdbMarkers = gdb.outputs.last.map { $0.split(separator: "\n").filter { $0.hasPrefix("[KERN]") } } ?? []

        let qemu = try QEMUInstance(KernelUnderGdb.configuration(kernel: try Tools.kernelImage()))
        defer { qemu.stop() }
        var arguments = ["attach", qemu.gdbAddress!, "--elf", try Tools.kernelImage(), "--json", "--timeout", "60"]
        for command in Self.stop + ["inject get_free_page --nth 1 --return 0", "go do_data_abort", "log --last 4"] {
            arguments += ["-ex", command]
        }
        let (status, stdout, stderr) = try runProcess(try Self.mmdbgExecutable(), arguments, timeout: 120)
        let last = stdout.split(separator: "\n").last.flatMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        let lines = (last?["result"] as? [String: Any])?["lines"] as? [String] ?? []
        let mmdbgMarkers = lines.filter { $0.hasPrefix("[KERN]") }.map { Substring($0) }
        let both = "=== gdb ===\n\(gdb.all)\n=== mmdbg (exit \(status)) ===\n\(stdout)\n\(stderr)"
        #expect(gdbMarkers.contains { $0.hasPrefix(MM_MARK_OOM) }, "\(both)")
        #expect(gdbMarkers == mmdbgMarkers, "\(both)")
    }
}
