import Testing
import Inspect
import KernelABI
import TestSupport

/// User leaf flags as the kernel uses them (kernel_abi.h's bags).
enum UserFlags {
    static let data: UInt64 = 0x0020_0000_0000_0F43 | (1 << 54)   // RW, PXN, UXN
    static let text: UInt64 = 0x0020_0000_0000_0FC3               // RO + EL0 executable
}

/// A kernel with init (pid 1, current) and a forked child (pid 2, sleeping).
func sampleKernel() -> SyntheticKernel {
    let kernel = SyntheticKernel()
    kernel.addTask(slot: 0, pid: 0, parent: 0, name: "idle", state: Int32(MM_TASK_RUNNABLE), brk: 0)
    kernel.tasks[0].mm.pgd = 0   // the idle task has no user space
    kernel.addTask(slot: 1, pid: 1, parent: 0, name: "init", state: Int32(MM_TASK_RUNNING), brk: MM_HEAP_BASE + 0x2000)
    kernel.addTask(slot: 2, pid: 2, parent: 1, name: "child", state: Int32(MM_TASK_SLEEPING), brk: MM_HEAP_BASE + 0x1000)
    for slot in [1, 2] {
        kernel.mapUserPage(slot: slot, va: MM_TEXT_BASE, flags: UserFlags.text)
        kernel.mapUserPage(slot: slot, va: MM_DATA_BASE, flags: UserFlags.data)
        kernel.mapUserPage(slot: slot, va: MM_HEAP_BASE, flags: UserFlags.data)
        kernel.mapUserPage(slot: slot, va: MM_STACK_TOP - MM_PAGE_SIZE, flags: UserFlags.data)
    }
    kernel.currentSlot = 1
    kernel.tick = 1234
    kernel.publish()
    return kernel
}

func inspector(_ kernel: SyntheticKernel) throws -> KernelInspector {
    try KernelInspector(memory: kernel.memory, symbols: kernel.symbols,
                        context: TranslationContext(registers: kernel.registers(ttbr0Slot: 1)))
}

@Suite struct KernelStructureTests {
    @Test func theHostLayoutComesFromKernelABI() {
        let host = KernelLayout.host
        #expect(host.magic == MM_LAYOUT_MAGIC)
        #expect(host.sizeofTask == UInt32(MemoryLayout<mm_task>.size))
        #expect(host.offsetofTaskMM == UInt32(MemoryLayout<mm_task>.offset(of: \.mm)!))
        #expect(host.taskCount == 16 && host.maxPageCount == 64)
        #expect(host.differences().isEmpty)
    }

    @Test func aKernelWithAnotherLayoutIsRefusedWithAClearError() throws {
        let kernel = sampleKernel()
        var other = KernelLayout.host
        other.version += 1
        other.offsetofTaskMM += 8
        kernel.writeLayout(other)
        #expect {
            try inspector(kernel)
        } throws: { error in
            let text = "\(error)"
            let host = KernelLayout.host.version
            return text.contains("refusing to decode") && text.contains("version: kernel \(host + 1), debugger \(host)")
                && text.contains("offsetof(mm_task, mm)") && !text.contains("\n")
        }
    }

    @Test func decodesTheTaskTableInOneRoundTrip() throws {
        let kernel = sampleKernel()
        let view = try inspector(kernel)
        kernel.memory.resetCounters()
        let snapshot = try view.snapshot()
        #expect(kernel.memory.roundTrips == 1)
        let tasks = snapshot.tasks
        #expect(tasks.map(\.pid) == [0, 1, 2])
        #expect(tasks.map(\.name) == ["idle", "init", "child"])
        #expect(tasks.map(\.state) == [.runnable, .running, .sleeping])
        #expect(tasks.map(\.parentPID) == [0, 0, 1])
        #expect(tasks.map(\.isCurrent) == [false, true, false])
        #expect(snapshot.currentSlot == 1)
        #expect(snapshot.tick == 1234)
        let child = tasks[2]
        #expect(child.mm.brk == MM_HEAP_BASE + 0x1000)
        #expect(child.mm.pgd == kernel.tasks[2].mm.pgd)
        #expect(child.mm.kernelPages.count == 1 + 2 + 2 + 4)   // pgd, L1 and L2 x2 (low + stack), L3 x4
        #expect(child.mm.userPages.map(\.virtualAddress) == [MM_TEXT_BASE, MM_DATA_BASE, MM_HEAP_BASE, MM_STACK_TOP - MM_PAGE_SIZE])
        #expect(child.mm.userPages[0].attributes.user.description == "r-x")
        #expect(child.mm.userPages[1].attributes.user.description == "rw-")
        #expect(child.mm.userPages[0].flags == UserFlags.text)
        #expect(child.context.pc == MM_LINEAR_MAP_BASE + 0x4008_1234)
        #expect(child.address == kernel.symbols.tasks + UInt64(2 * MemoryLayout<mm_task>.size))
    }

    @Test func readsPagePoolCounters() throws {
        let kernel = sampleKernel()
        let pool = try inspector(kernel).pagePool()
        #expect(pool.basePhysicalAddress == 0x4400_0000)
        #expect(pool.pageCount == 512)
        #expect(pool.allocations == 1 + 2 * (4 + 9))   // idle's pgd, then 4 pages + 9 tables per task
        #expect(pool.freePages == 512 - pool.allocations)
        #expect(pool.usedPages == pool.allocations)
        #expect(pool.freeListHead == 0x4400_0000 + pool.allocations * 4096)
    }

    @Test func readsTheLogRingBeforeAndAfterItWraps() throws {
        let kernel = sampleKernel()
        kernel.writeLog("[BOOT] mmdbg kernel\n[BOOT] MMU on\n")
        let log = try inspector(kernel).log()
        #expect(log.lines == ["[BOOT] mmdbg kernel", "[BOOT] MMU on"])
        #expect(log.head == 34)
        let lines = (0..<1000).map { "line \($0) of the log ring" }
        kernel.writeLog(lines.joined(separator: "\n") + "\n")
        let wrapped = try inspector(kernel).log()
        #expect(wrapped.head > wrapped.size)
        #expect(wrapped.lines.last == "line 999 of the log ring")
        #expect(wrapped.lines.count < 1000)
        #expect(lines.suffix(wrapped.lines.count) == wrapped.lines[...])
    }

    @Test func dumpsEveryTaskInOneRoundTripPerLevel() throws {
        let kernel = sampleKernel()
        let view = try inspector(kernel)
        let tasks = try view.tasks().filter { $0.mm.pgd != 0 }
        let separately = try tasks.map { try view.addressSpace(of: $0) }
        kernel.memory.resetCounters()
        let together = try view.addressSpaces(of: tasks)
        #expect(kernel.memory.roundTrips == 4)
        #expect(kernel.memory.batches.map(\.count) == [2, 4, 4, 8])   // pgd, L1, L2, L3 tables of both tasks
        #expect(together.map(\.runs) == separately.map(\.runs))
        #expect(together.map(\.statistics.tables) == [9, 9])
    }

    @Test func walksANonCurrentTaskFromItsOwnPgd() throws {
        let kernel = sampleKernel()
        let view = try inspector(kernel)
        let child = try view.tasks()[2]
        let dump = try view.addressSpace(of: child)
        #expect(dump.runs.map(\.virtualStart) == [MM_TEXT_BASE, MM_DATA_BASE, MM_HEAP_BASE, MM_STACK_TOP - MM_PAGE_SIZE])
        #expect(dump.runs.map(\.physicalStart) == child.mm.userPages.map(\.physicalAddress))
        #expect(Set(dump.tables.map(\.address)) == Set(child.mm.kernelPages))
        let vtop = try view.walker(for: child).translate(MM_HEAP_BASE + 0x10)
        #expect(vtop.physicalAddress == child.mm.userPages[2].physicalAddress + 0x10)
    }
}
