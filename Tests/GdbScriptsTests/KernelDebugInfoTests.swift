import Foundation
import Testing
import TestSupport

/// The kernel's debug info as stock gdb-multiarch sees it: usable (the
/// structures the gdb/ views name are there) and quiet (no warning or
/// complaint, which the other suites hide with `set complaints 0`).
@Suite("kernel.elf debug info in gdb-multiarch")
struct KernelDebugInfoSystemTests {
    @Test func loadingTheKernelIsQuietAndItsStructuresAreDescribed() throws {
        let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
        let kernel = try Tools.kernelImage()
        let result = try ChildProcess.run(gdb, ["-batch", "-nx", "-ex", "file \(kernel)",
                                                "-ex", "ptype struct mm_task", "-ex", "info address map_page"],
                                          timeout: 60)
        #expect(result.status == 0)
        // Before: 79 "Could not find DWO CU …pcm" complaints (clang module breadcrumbs)
        // and a rejected .debug_names index.
        let noise = (result.stdout + result.stderr).split(separator: "\n")
            .filter { $0.contains("warning") || $0.contains("During symbol reading") || $0.contains("DWO") }
        #expect(noise.count == 0, "gdb complained \(noise.count) times, first:\n\(noise.prefix(3).joined(separator: "\n"))")
        #expect(result.stdout.contains("type = struct mm_task {"))
        #expect(result.stdout.contains("struct mm_struct mm;"))
        #expect(result.stdout.contains("Symbol \"map_page\" is a function at address 0xffff0000402"))
    }
}
