import Testing
import KernelSupport
@testable import KernelCore

/// Every suite that touches the kernel's C globals (mm_pool, mm_current,
/// mm_log, exitProcessHook) nests in here: `.serialized` then orders them
/// all, so no two tests share the fake machine at once.
@Suite(.serialized) enum KernelGlobals {}

/// The fake machine the reference module's host tests run against: a
/// 256-page pool of host memory under the REAL allocator (host paToKva is
/// the identity), a recorded exit_process, and the log ring as the console.
enum FakeMachine {
    static let poolPages: UInt64 = 256

    /// 256 pages + 1 for alignment, allocated once for the test process.
    nonisolated(unsafe) static let memory: UnsafeMutableRawPointer =
        UnsafeMutableRawPointer.allocate(byteCount: Int((poolPages + 1) * MM_PAGE_SIZE), alignment: Int(MM_PAGE_SIZE))

    static var basePA: UInt64 { UInt64(UInt(bitPattern: memory)) }

    /// How many times exit_process ran since the last reset.
    nonisolated(unsafe) static var exitProcessCalls = 0

    /// The reference's reset_phys_mem(), plus the rest of the machine.
    static func reset() {
        mm_pool_init(basePA, poolPages)
        mm_current = nil
        mm_log.head = 0
        exitProcessCalls = 0
        exitProcessHook = { FakeMachine.exitProcessCalls += 1 }
    }

    /// Takes `count` pages out of the pool (the reference's drain loops).
    static func drain(_ count: UInt64) {
        for _ in 0..<count { _ = get_free_page() }
    }

    /// Leaves exactly `count` free pages in the pool.
    static func drain(leaving count: UInt64) {
        drain(mm_pool.free_pages - count)
    }

    /// Everything the console printed since the last reset.
    static var consoleText: String {
        withUnsafeMutablePointer(to: &mm_log) { ring in
            let buf = UnsafeRawPointer(ring) + Int(mm_abi_offsetof_log_buf())
            let bytes = UnsafeRawBufferPointer(start: buf, count: Int(min(ring.pointee.head, UInt64(MM_LOG_RING_SIZE))))
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

/// A zeroed task in host memory, released when the box goes away.
final class TaskBox {
    let t: UnsafeMutablePointer<mm_task>
    init() {
        t = .allocate(capacity: 1)
        t.initialize(to: mm_task())
    }
    deinit { t.deallocate() }

    var kpCount: Int32 { task_kp_count(t) }
    var upCount: Int32 { task_up_count(t) }
    func userPage(_ i: Int) -> mm_user_page { mm_task_user_pages(t)![i] }
    func kernelPage(_ i: Int) -> UInt64 { mm_task_kernel_pages(t)![i] }

    /// Makes this task `current`, with the heap break at HEAP_BASE + `heapBytes`.
    func makeCurrent(heapBytes: UInt64 = 0) {
        t.pointee.mm.brk = MM_HEAP_BASE + heapBytes
        mm_current = t
    }
}
