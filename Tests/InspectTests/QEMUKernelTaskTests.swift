import GdbRemote
import Testing
import Foundation
import Inspect
import KernelABI
import TestSupport

/// Task views and consistency checks on the real kernel, stopped inside
/// init's scenarios (`-append tests=...`), checked against what the kernel
/// prints and against QEMU's `gva2gpa`.
@Suite("Inspect kernel views under QEMU", .serialized)
struct QEMUKernelTaskSystemTests {
    /// Guest time by instruction count: with host time, a loaded host let the tick
    /// preempt init before its sys_wait, and the stop found the fork test's own
    /// child (pid 3) and pid 2 running.
    static let icountShift = 4

    func inspector(_ kernel: StoppedKernel) throws -> KernelInspector {
        try KernelInspector(memory: CachingMemorySource(kernel.memory), symbols: try KernelSymbols(elf: kernel.elf),
                            context: try kernel.context())
    }

    func checks(_ kernel: StoppedKernel) throws -> ConsistencyChecker.Report {
        let inspector = try inspector(kernel)
        return try kernel.memory.withPhysicalMode { () throws(KernelInspectionError) in
            try ConsistencyChecker(inspector: inspector).run()
        }
    }

    /// Every user page of the current task: our walk from its mm.pgd against QEMU's walk from TTBR0.
    func expectUserPagesMatchQEMU(_ kernel: StoppedKernel, _ task: TaskInfo) throws {
        let inspector = try inspector(kernel)
        #expect(try kernel.client.readRegister("TTBR0_EL1") & 0x0000_FFFF_FFFF_FFFE == task.mm.pgd)
        let vas = task.mm.userPages.map { $0.virtualAddress + 0x18 }
        let ours = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try inspector.walker(for: task).translate(vas) }
        for (page, translation) in zip(task.mm.userPages, ours) {
            #expect(translation.physicalAddress == page.physicalAddress + 0x18, "\(task.label) VA \(Hex.format(page.virtualAddress))")
            #expect(try kernel.qemuTranslation(page.virtualAddress + 0x18) == translation.physicalAddress, "\(task.label) VA \(Hex.format(page.virtualAddress))")
        }
    }

    @Test func theTaskListMatchesWhatTheKernelPrints() throws {
        let kernel = try StoppedKernel(append: "linear=pages tests=fork", stopAt: "sys_write", icountShift: Self.icountShift)
        defer { kernel.stop() }
        let line = try #require(try kernel.consoleLines(waitingFor: "[TASK] init: pid ").first { $0.hasPrefix("[TASK] init: pid ") })
        // "[TASK] init: pid 1, entry 0x400000, 5 pages, 8 tables, free pages 31987"
        let numbers = line.split(whereSeparator: { !$0.isHexDigit && $0 != "x" }).compactMap { word -> UInt64? in
            word.hasPrefix("0x") ? UInt64(word.dropFirst(2), radix: 16) : UInt64(word)
        }
        let snapshot = try inspector(kernel).snapshot()
        let tasks = snapshot.tasks
        #expect(tasks.map(\.pid) == [0, 1])
        let initTask = try #require(tasks.first { $0.pid == Int64(numbers[0]) })
        #expect(initTask.name == "init")
        #expect(initTask.state == .running && initTask.isCurrent)
        #expect(initTask.mm.userPages.count == Int(numbers[2]))
        #expect(initTask.mm.kernelPages.count == Int(numbers[3]))
        #expect(initTask.mm.userPages.contains { $0.virtualAddress == numbers[1] && $0.attributes.user.execute })
        #expect(initTask.mm.brk == MM_HEAP_BASE)
        #expect(snapshot.pool.freePages == numbers[4])
        try expectUserPagesMatchQEMU(kernel, initTask)
    }

    @Test func afterForkEveryTaskMatchesQEMUAndTheChecksAreClean() throws {
        let kernel = try StoppedKernel(append: "linear=pages tests=fork", stopAt: "sys_wait", icountShift: Self.icountShift)
        defer { kernel.stop() }
        let tasks = try inspector(kernel).tasks()
        #expect(tasks.map(\.pid) == [0, 1, 2])
        let parent = tasks[1], child = tasks[2]
        #expect(child.parentPID == 1 && child.name == parent.name)
        #expect(parent.isCurrent && !child.isCurrent)
        // Exactly one task is RUNNING, the current one; idle waits like any other.
        #expect(tasks.filter { $0.state == .running }.map(\.pid) == [1])
        #expect(tasks[0].state == .runnable && child.state == .runnable)
        // fork copies every page with its flags, into new physical pages.
        #expect(child.mm.userPages.map(\.virtualAddress) == parent.mm.userPages.map(\.virtualAddress))
        #expect(child.mm.userPages.map(\.flags) == parent.mm.userPages.map(\.flags))
        #expect(Set(child.mm.userPages.map(\.physicalAddress)).isDisjoint(with: parent.mm.userPages.map(\.physicalAddress)))
        #expect(child.mm.brk == parent.mm.brk)
        try expectUserPagesMatchQEMU(kernel, parent)
        let report = try checks(kernel)
        #expect(report.findings.isEmpty, "\(report.findings.map(\.description))")
        #expect(report.tasksChecked >= 2)
        #expect(report.userPagesChecked == parent.mm.userPages.count + child.mm.userPages.count)

        // Run on until a forked task exits: now its tables are live in TTBR0.
        try kernel.run(to: "sys_exit")
        let running = try inspector(kernel).tasks()
        let current = try #require(running.first { $0.isCurrent })
        #expect(current.pid >= 2 && current.parentPID >= 1)
        #expect(running.filter { $0.state == .running }.map(\.pid) == [current.pid])
        try expectUserPagesMatchQEMU(kernel, current)
        #expect(try checks(kernel).findings.isEmpty)
    }

    @Test func aUserPTECorruptedThroughTheStubIsFound() throws {
        let kernel = try StoppedKernel(append: "linear=pages tests=fork", stopAt: "sys_wait", icountShift: Self.icountShift)
        defer { kernel.stop() }
        let child = try #require(try inspector(kernel).tasks().first { $0.pid == 2 })
        let victim = try #require(child.mm.userPages.last)
        let walker = try inspector(kernel).walker(for: child)
        let walk = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.translate(victim.virtualAddress) }
        let pte = try #require(walk.steps.last)
        #expect(pte.descriptor.raw == victim.physicalAddress | victim.flags)
        let wrongPage = victim.physicalAddress ^ 0x10_0000
        try kernel.memory.write(littleEndianBytes(wrongPage | victim.flags), to: pte.descriptorAddress, in: .physical)
        let report = try checks(kernel)
        let finding = try #require(report.findings.first)
        #expect(report.findings.count == 1, "\(report.findings.map(\.description))")
        #expect(finding.kind == .wrongPhysicalPage)
        #expect(finding.description == "pid 2 (init) va \(Hex.format(victim.virtualAddress)): PTE maps \(Hex.format(wrongPage)), user_pages[\(victim.slot)] records \(Hex.format(victim.physicalAddress))")
    }

    @Test func afterBrkShrinkTheFreedPageIsGoneAndTheChecksAreClean() throws {
        // The boot self-test unmaps too: first get into init's brk.
        let kernel = try StoppedKernel(append: "linear=pages tests=brk", stopAt: "sys_brk", icountShift: Self.icountShift)
        defer { kernel.stop() }
        try kernel.run(to: "unmap_user_range")
        let before = try #require(try inspector(kernel).tasks().first { $0.isCurrent })
        let viewBefore = try inspector(kernel)
        let dumpBefore = try kernel.memory.withPhysicalMode { () throws(KernelInspectionError) in try viewBefore.addressSpace(of: before) }
        let returnAddress = try kernel.client.readRegister("x30")
        try kernel.run(toAddress: returnAddress, named: "return from unmap_user_range")
        let after = try #require(try inspector(kernel).tasks().first { $0.isCurrent })
        let gone = Set(before.mm.userPages.map(\.virtualAddress)).subtracting(after.mm.userPages.map(\.virtualAddress))
        #expect(!gone.isEmpty)
        let walker = try inspector(kernel).walker(for: after)
        for va in gone {
            let translation = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.translate(va) }
            #expect(!translation.isMapped)
            #expect(try kernel.qemuTranslation(va) == nil)
        }
        // The diff of the two stops shows exactly the unmapped pages.
        let viewAfter = try inspector(kernel)
        let dumpAfter = try kernel.memory.withPhysicalMode { () throws(KernelInspectionError) in try viewAfter.addressSpace(of: after) }
        let changes = dumpAfter.changes(since: dumpBefore)
        #expect(changes.allSatisfy { $0.kind == .unmapped })
        #expect(Set(changes.flatMap { change in stride(from: change.virtualStart, to: change.virtualStart + change.size, by: 4096).map { $0 } }) == gone)
        let report = try checks(kernel)
        #expect(report.findings.isEmpty, "\(report.findings.map(\.description))")
        #expect(report.freeListComplete)
    }
}
