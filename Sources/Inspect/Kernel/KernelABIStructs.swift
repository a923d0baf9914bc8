import KernelABI

/// A structure the kernel views decode, as this debugger was compiled (KernelABI through
/// `MemoryLayout`): its size and every member's offset and size. What the layout check on
/// attach compares with the kernel ELF's C DWARF (`KernelLayoutCheck` in MmdbgCore).
public struct ABIStruct: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var name: String
        public var offset: UInt64
        public var size: UInt64
    }
    /// The C tag: `mm_task` (DWARF's `struct mm_task`).
    public var name: String
    public var size: UInt64
    public var members: [Member]

    init<S>(_ type: S.Type, _ name: String, _ members: [Member]) {
        self.name = name
        self.size = UInt64(MemoryLayout<S>.size)
        self.members = members
    }

    static func member<S, T>(_ name: String, _ path: KeyPath<S, T>) -> Member {
        Member(name: name, offset: UInt64(MemoryLayout<S>.offset(of: path)!), size: UInt64(MemoryLayout<T>.size))
    }

    /// Every structure the views decode with `loadUnaligned` or an offset from KernelABI.
    public static let decoded: [ABIStruct] = [
        ABIStruct(mm_task.self, "mm_task", [
            member("context", \mm_task.context), member("state", \mm_task.state), member("pid", \mm_task.pid),
            member("parent_pid", \mm_task.parent_pid), member("exit_code", \mm_task.exit_code),
            member("counter", \mm_task.counter), member("wake_tick", \mm_task.wake_tick),
            member("kernel_stack", \mm_task.kernel_stack), member("trap_frame", \mm_task.trap_frame),
            member("name", \mm_task.name), member("mm", \mm_task.mm),
        ]),
        ABIStruct(mm_cpu_context.self, "mm_cpu_context", [
            member("x19", \mm_cpu_context.x19), member("x20", \mm_cpu_context.x20), member("x21", \mm_cpu_context.x21),
            member("x22", \mm_cpu_context.x22), member("x23", \mm_cpu_context.x23), member("x24", \mm_cpu_context.x24),
            member("x25", \mm_cpu_context.x25), member("x26", \mm_cpu_context.x26), member("x27", \mm_cpu_context.x27),
            member("x28", \mm_cpu_context.x28), member("fp", \mm_cpu_context.fp), member("sp", \mm_cpu_context.sp),
            member("pc", \mm_cpu_context.pc),
        ]),
        ABIStruct(mm_struct.self, "mm_struct", [
            member("pgd", \mm_struct.pgd), member("kernel_pages", \mm_struct.kernel_pages),
            member("user_pages", \mm_struct.user_pages), member("brk", \mm_struct.brk),
        ]),
        ABIStruct(mm_user_page.self, "mm_user_page", [
            member("pa", \mm_user_page.pa), member("uva", \mm_user_page.uva), member("flags", \mm_user_page.flags),
        ]),
        ABIStruct(mm_page_pool.self, "mm_page_pool", [
            member("base_pa", \mm_page_pool.base_pa), member("page_count", \mm_page_pool.page_count),
            member("free_pages", \mm_page_pool.free_pages), member("alloc_count", \mm_page_pool.alloc_count),
            member("free_count", \mm_page_pool.free_count), member("fail_count", \mm_page_pool.fail_count),
            member("free_list", \mm_page_pool.free_list), member("limit", \mm_page_pool.limit),
        ]),
        ABIStruct(mm_cpu.self, "mm_cpu", [
            member("current", \mm_cpu.current), member("state", \mm_cpu.state), member("ticks", \mm_cpu.ticks),
            member("mpidr", \mm_cpu.mpidr), member("ipis", \mm_cpu.ipis), member("idle", \mm_cpu.idle),
            member("timer_armed", \mm_cpu.timer_armed),
        ]),
        ABIStruct(mm_log_ring.self, "mm_log_ring", [
            member("magic", \mm_log_ring.magic), member("size", \mm_log_ring.size), member("head", \mm_log_ring.head),
            // buf[] is longer than Swift imports as a tuple: its offset comes from abi.c.
            Member(name: "buf", offset: UInt64(mm_abi_offsetof_log_buf()), size: UInt64(MM_LOG_RING_SIZE)),
        ]),
        ABIStruct(mm_trap_frame.self, "mm_trap_frame", [
            member("x", \mm_trap_frame.x), member("sp_el0", \mm_trap_frame.sp_el0), member("elr", \mm_trap_frame.elr),
            member("spsr", \mm_trap_frame.spsr), member("kind", \mm_trap_frame.kind), member("esr", \mm_trap_frame.esr),
        ]),
    ]
}
