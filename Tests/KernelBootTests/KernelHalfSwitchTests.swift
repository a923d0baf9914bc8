import Testing
import Foundation
import GdbRemote
import KernelABI
import TestSupport

/// Issue 19, gap 2: at boot the kernel replaced TTBR1 while running from it,
/// with no break-before-make. The boot blocks (1 GiB, EL1 rwx) and the W^X
/// tables (2 MiB blocks and pages) map the same VAs differently; on real
/// hardware a TLB holding one of each may raise a TLB conflict abort. The
/// switch must go through an empty table with a TLB flush, from the identity map.
@Suite("Kernel-half switch at boot under QEMU", .serialized)
struct KernelHalfSwitchSystemTests {
    static let tlbiVMALLE1: UInt32 = 0xD508_871F
    static let dsbNSH: UInt32 = 0xD503_379F

    @Test func ttbr1GoesThroughAnEmptyTableWithATLBFlushFromTheIdentityMap() throws {
        let kernel = try StoppedKernel(append: "tests=none", stopAt: "mm_replace_ttbr1")
        defer { kernel.stop() }
        let gdb = kernel.client
        let emptyPA = try kernel.elf.address(of: "boot_empty_table") - MM_LINEAR_MAP_BASE
        let bootPgd = try kernel.elf.address(of: "boot_l0_high") - MM_LINEAR_MAP_BASE
        let newPgd = try gdb.readRegister("x0")
        #expect(try gdb.readRegister("x1") == emptyPA)
        #expect(try gdb.readRegister("TTBR1_EL1") == bootPgd)
        #expect(newPgd != bootPgd && newPgd != emptyPA && newPgd % MM_PAGE_SIZE == 0)
        // The break table maps nothing.
        #expect(try gdb.readMemory(at: MM_LINEAR_MAP_BASE + emptyPA, count: Int(MM_PAGE_SIZE)).allSatisfy { $0 == 0 })

        var ttbr1History: [UInt64] = [bootPgd]
        var inWindow: [UInt32] = []   // instructions executed while TTBR1 held the empty table
        var returned = false
        for _ in 0..<40 {
            _ = try gdb.step(timeout: 10)
            let pc = try gdb.readRegister("pc"), ttbr1 = try gdb.readRegister("TTBR1_EL1")
            if ttbr1 != ttbr1History.last { ttbr1History.append(ttbr1) }
            if ttbr1 == emptyPA {
                #expect(pc < 1 << 48, "with TTBR1 empty the CPU runs from the TTBR0 identity map, pc \(String(pc, radix: 16))")
                let word = try gdb.readMemory(at: pc, count: 4)
                inWindow.append(UInt32(word[0]) | UInt32(word[1]) << 8 | UInt32(word[2]) << 16 | UInt32(word[3]) << 24)
            }
            if pc >= MM_LINEAR_MAP_BASE && ttbr1 == newPgd {
                returned = true
                break
            }
        }
        #expect(returned, "back in the kernel half on the new tables")
        #expect(ttbr1History == [bootPgd, emptyPA, newPgd], "TTBR1: \(ttbr1History.map { String($0, radix: 16) })")
        #expect(inWindow.contains(Self.tlbiVMALLE1) && inWindow.contains(Self.dsbNSH), "TLB invalidated in the break window")
        // Boot goes on: the identity map retires (TTBR0 = the empty table) and the kernel reaches power-off.
        try kernel.run(to: "mm_psci_system_off")
        #expect(try gdb.readRegister("TTBR1_EL1") == newPgd)
    }
}
