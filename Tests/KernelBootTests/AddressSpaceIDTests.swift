import Testing
import Foundation
import GdbRemote
import KernelABI
import TestSupport

/// ASIDs (issue 19): each task runs with TTBR0.ASID = its slot in mm_tasks, so a
/// switch needs no TLB flush; reaping a task invalidates its ASID before its
/// pages and tables are freed (and before the slot, hence the ASID, is reused).
@Suite("Address-space IDs under QEMU", .serialized)
struct AddressSpaceIDSystemTests {
    @Test func eachTaskRunsWithItsSlotAsASIDAndAReapedOneIsInvalidatedFirst() throws {
        let kernel = try StoppedKernel(append: "tests=fork", stopAt: "sys_fork", icountShift: 4)
        defer { kernel.stop() }
        let gdb = kernel.client
        let tasks = try kernel.elf.address(of: "mm_tasks"), current = try kernel.elf.address(of: "mm_current")
        let taskSize = UInt64(MemoryLayout<mm_task>.size)
        let pgdOffset = UInt64(MemoryLayout<mm_task>.offset(of: \.mm)! + MemoryLayout<mm_struct>.offset(of: \.pgd)!)
        func word(_ va: UInt64) throws -> UInt64 {
            try gdb.readMemory(at: va, count: 8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        let slot = (try word(current) - tasks) / taskSize
        let ttbr0 = try gdb.readRegister("TTBR0_EL1")
        #expect(slot >= 1 && ttbr0 >> 48 == slot, "TTBR0 0x\(String(ttbr0, radix: 16)) for slot \(slot)")
        #expect(ttbr0 & 0x0000_FFFF_FFFF_F000 == (try word(tasks + slot * taskSize + pgdOffset)))

        // The fork test's child exits and init reaps it: its ASID goes first, while its tables are still there.
        try kernel.run(to: "mm_tlb_invalidate_asid")
        let reaped = try gdb.readRegister("x0")
        #expect(reaped != slot && reaped >= 1 && reaped < UInt64(MM_NR_TASKS))
        #expect(try word(tasks + reaped * taskSize + pgdOffset) != 0, "invalidated before release_task_memory frees the pgd")
        // And the kernel still boots to the end.
        try kernel.run(to: "mm_psci_system_off")
    }
}
