import Testing
import Foundation
import QEMULauncher
import TestSupport

@Suite("Kernel boots under the real QEMU", .serialized) struct BootSystemTests {
    @Test func bootsPrintsBannerAndPowersOff() throws {
        let kernel = try Tools.kernelImage()
        let qemu = try QEMUInstance(QEMUConfiguration(kernel: kernel))
        defer { qemu.stop() }
        let status = try qemu.waitForExit(timeout: 30)
        let out = qemu.outputText
        #expect(status == 0, "QEMU exit status; output:\n\(out)")
        #expect(out.contains("mmdbg kernel: booting"))
        #expect(out.contains("[BOOT] MMU on"))
    }
}
