import Testing
@testable import QEMULauncher

/// The RAM file must have exactly QEMU's idea of `-m`, or QEMU refuses to start (no QEMU here).
@Suite("Shared RAM size")
struct SharedRAMSizeTests {
    @Test func sizesAgreeWithQEMUsReadingOfMinusM() {
        #expect(SharedRAMFile.guestRAMBytes("128M") == 128 << 20)
        #expect(SharedRAMFile.guestRAMBytes("512") == 512 << 20)        // no suffix: MiB
        #expect(SharedRAMFile.guestRAMBytes("4G") == 4 << 30)
        #expect(SharedRAMFile.guestRAMBytes("1.5G") == 3 << 29)
        #expect(SharedRAMFile.guestRAMBytes("256MiB") == 256 << 20)
        #expect(SharedRAMFile.guestRAMBytes("size=1G,slots=2,maxmem=4G") == 1 << 30)
        #expect(SharedRAMFile.guestRAMBytes("1000K") == 1_024_000)      // aligned up to 8 KiB: 1000 KiB is already aligned
        #expect(SharedRAMFile.guestRAMBytes("1001K") == 1008 << 10)
        for bad in ["", "lots", "12Q", "-5M", "0"] { #expect(SharedRAMFile.guestRAMBytes(bad) == nil, "\(bad)") }
    }

    @Test func offOrUnparseableMeansAnonymousRAMWithAReason() {
        var configuration = QEMUConfiguration(kernel: "/nonexistent")
        configuration.sharedRAM = false
        #expect(Launch.sharedRAMFile(for: configuration).1 == "shared RAM is off in the configuration")
        configuration.sharedRAM = true
        configuration.memory = "lots"
        #expect(Launch.sharedRAMFile(for: configuration).1?.contains("-m lots") == true)
        configuration.memory = "128M"
        configuration.machine = "virt,memory-backend=mine"
        #expect(Launch.sharedRAMFile(for: configuration).1 == "the configuration chooses its own memory backend")
        configuration.machine = "virt"
        configuration.extraArguments = ["-smp", "2", "-m", "1G"]   // mmdbg launch --qemu-arg=-m --qemu-arg=1G
        #expect(Launch.sharedRAMFile(for: configuration).1 == "the extra QEMU arguments set -m themselves")
    }
}
