import Testing
import KernelSupport
@testable import KernelCore

// do_data_abort's region dispatch and the other EL0 fault entries: which
// marker is printed, whether exit_process runs, what the pool looks like.

extension KernelGlobals {
    @Suite("EL0 fault handling") struct UserFaultTests {
        static let translationFaultL3: UInt64 = 0x9200_0007
        static let permissionFaultL3: UInt64 = 0x9200_004F // WnR + DFSC 0xF

        let task = TaskBox()
        init() {
            FakeMachine.reset()
            task.makeCurrent(heapBytes: 0x4000)
        }

        @Test(arguments: [0x4, 0x5, 0x6, 0x7] as [UInt64])
        func translationFaultAtAnyLevelDemandPagesTheHeap(dfsc: UInt64) {
            let far = MM_HEAP_BASE + 0x2abc
            #expect(do_data_abort(far, 0x9200_0000 | dfsc) == 0)
            #expect(task.userPage(0).uva == MM_HEAP_BASE + 0x2000)
            #expect(task.userPage(0).flags == MM_TD_USER_PAGE_FLAGS_DEFAULT | MM_TD_UXN)
            #expect(FakeMachine.exitProcessCalls == 0)
            #expect(FakeMachine.consoleText == "")
        }

        @Test func stackBelowTheTopIsDemandPaged() {
            #expect(do_data_abort(MM_STACK_LOW + 8, Self.translationFaultL3) == 0)
            #expect(task.userPage(0).uva == MM_STACK_LOW)
            #expect(do_data_abort(MM_STACK_TOP - 8, Self.translationFaultL3) == 0)
            #expect(task.upCount == 2)
        }

        @Test(arguments: [
            (MM_STACK_GUARD_HIGH - 8, "[KERN] stack overflow at 0xffffffefff8"),
            (MM_TEXT_BASE + 0x123, "[KERN] text fault at 0x400123"),
            (0xDEAD_BEEF_000, "[KERN] invalid uva at 0xdeadbeef000"),
            (MM_HEAP_BASE + 0x4000, "[KERN] invalid uva at 0x10004000"),  // at brk: not heap
            (MM_DATA_BASE + 0x10, "[KERN] invalid uva at 0x1000010"),    // data is eager
            (0xFFFF_0000_4000_0000, "[KERN] invalid uva at 0xffff000040000000"),
        ] as [(UInt64, String)])
        func unresolvableTranslationFaultsPrintOneMarkerAndExit(far: UInt64, marker: String) {
            #expect(do_data_abort(far, Self.translationFaultL3) == -1)
            #expect(FakeMachine.consoleText == marker + "\n")
            #expect(FakeMachine.exitProcessCalls == 1)
            #expect(task.upCount == 0)
            #expect(mm_pool.free_pages == 256)
        }

        @Test func permissionFaultEndsTheTaskEvenInTheHeap() {
            #expect(do_data_abort(MM_HEAP_BASE + 8, Self.permissionFaultL3) == -1)
            #expect(FakeMachine.consoleText == "[KERN] perm fault at 0x10000008\n")
            #expect(FakeMachine.exitProcessCalls == 1)
            #expect(task.upCount == 0)
        }

        @Test(arguments: [0x00, 0x21, 0x10, 0x3F] as [UInt64]) // address size, alignment, sync external, ...
        func otherFaultCodesAreLeftToTheCaller(dfsc: UInt64) {
            #expect(do_data_abort(MM_HEAP_BASE, 0x9200_0000 | dfsc) == -1)
            #expect(FakeMachine.exitProcessCalls == 0)
            #expect(FakeMachine.consoleText == "")
        }

        @Test(arguments: [0, 1, 2, 3, 4] as [UInt64])
        func heapOOMOnTheHardPathPrintsOOMAndExits(freePages: UInt64) {
            FakeMachine.drain(leaving: freePages)
            #expect(do_data_abort(MM_HEAP_BASE + 0x10, Self.translationFaultL3) == -1)
            #expect(FakeMachine.consoleText == "[KERN] OOM at 0x10000010\n")
            #expect(FakeMachine.exitProcessCalls == 1)
            #expect(mm_pool.free_pages == freePages, "the page and any tables went back")
            #expect(task.upCount == 0)
        }

        @Test func instructionAbortIsAlwaysAnExecFault() {
            #expect(do_instruction_abort(MM_HEAP_BASE + 0x40, 0x8200_000F) == -1)
            #expect(FakeMachine.consoleText == "[KERN] exec fault at 0x10000040\n")
            #expect(FakeMachine.exitProcessCalls == 1)
        }

        @Test func otherSyncExceptionsPrintTheClassAndPC() {
            // EC 0x22: PC alignment fault.
            #expect(do_el0_sync_fault(0x22 << 26 | 1 << 25, 0x40_0102) == -1)
            #expect(FakeMachine.consoleText == "[KERN] el0 sync fault ec=0x22 at 0x400102\n")
            #expect(FakeMachine.exitProcessCalls == 1)
        }

        @Test func noCurrentTaskMeansNothingToPage() {
            mm_current = nil
            #expect(do_data_abort(MM_HEAP_BASE, Self.translationFaultL3) == -1)
            #expect(check_and_prefault_user_range(MM_HEAP_BASE, 1) == -1)
            #expect(FakeMachine.exitProcessCalls == 0)
        }
    }
}
