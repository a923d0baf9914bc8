import KernelABI

/// A task's scheduling state (`MM_TASK_*`).
public enum TaskState: String, Codable, Sendable, Hashable {
    case free, runnable, running, sleeping, waiting, zombie, unknown

    public init(raw: Int64) {
        switch raw {
        case Int64(MM_TASK_FREE): self = .free
        case Int64(MM_TASK_RUNNABLE): self = .runnable
        case Int64(MM_TASK_RUNNING): self = .running
        case Int64(MM_TASK_SLEEPING): self = .sleeping
        case Int64(MM_TASK_WAITING): self = .waiting
        case Int64(MM_TASK_ZOMBIE): self = .zombie
        default: self = .unknown
        }
    }
}

/// Callee-saved registers from the last context switch.
public struct TaskContext: Codable, Sendable, Hashable {
    /// x19 ... x28.
    public var calleeSaved: [UInt64]
    public var fp: UInt64
    public var sp: UInt64
    public var pc: UInt64
}

/// One `user_pages` slot in use.
public struct UserPageRecord: Codable, Sendable, Hashable {
    public var slot: Int
    public var physicalAddress: UInt64
    public var virtualAddress: UInt64
    /// The leaf descriptor bits the kernel mapped it with.
    public var flags: UInt64
    /// `flags` decoded (no table restrictions applied).
    public var attributes: MappingAttributes
}

/// A task's address space bookkeeping (`mm_struct`).
public struct TaskMemory: Codable, Sendable, Hashable {
    /// Physical address of the level-0 table.
    public var pgd: UInt64
    /// Non-empty `kernel_pages` slots: every table page the kernel allocated for this task.
    public var kernelPages: [UInt64]
    /// Non-empty `user_pages` slots.
    public var userPages: [UserPageRecord]
    public var brk: UInt64
}

/// One task-table entry decoded through KernelABI's `mm_task`.
public struct TaskInfo: Codable, Sendable, Hashable {
    /// Index in `mm_tasks`.
    public var slot: Int
    /// Kernel virtual address of the `mm_task`.
    public var address: UInt64
    public var pid: Int64
    public var parentPID: Int64
    public var state: TaskState
    public var rawState: Int64
    public var name: String
    public var exitCode: Int64
    public var counter: Int64
    public var wakeTick: UInt64
    public var kernelStack: UInt64
    public var trapFrame: UInt64
    /// `mm_current` points here.
    public var isCurrent: Bool
    public var context: TaskContext
    public var mm: TaskMemory

    /// `pid 3 (init)`.
    public var label: String { "pid \(pid) (\(name))" }

    init(task: mm_task, slot: Int, address: UInt64, isCurrent: Bool, memoryTypes: [MemoryType]) {
        self.slot = slot
        self.address = address
        self.isCurrent = isCurrent
        pid = task.pid
        parentPID = task.parent_pid
        rawState = task.state
        state = TaskState(raw: task.state)
        exitCode = task.exit_code
        counter = task.counter
        wakeTick = task.wake_tick
        kernelStack = task.kernel_stack
        trapFrame = task.trap_frame
        name = withUnsafeBytes(of: task.name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let c = task.context
        context = TaskContext(calleeSaved: [c.x19, c.x20, c.x21, c.x22, c.x23, c.x24, c.x25, c.x26, c.x27, c.x28],
                              fp: c.fp, sp: c.sp, pc: c.pc)
        let kernelPages = withUnsafeBytes(of: task.mm.kernel_pages) { Array($0.bindMemory(to: UInt64.self)) }
        let userPages = withUnsafeBytes(of: task.mm.user_pages) { Array($0.bindMemory(to: mm_user_page.self)) }
        mm = TaskMemory(
            pgd: task.mm.pgd,
            kernelPages: kernelPages.filter { $0 != 0 },
            userPages: userPages.enumerated().compactMap { slot, page in
                guard page.pa != 0 else { return nil }
                let attributes = MappingAttributes(leaf: LeafAttributes(raw: page.flags), inherited: .none,
                                                   memoryTypes: memoryTypes, writeImpliesExecuteNever: false)
                return UserPageRecord(slot: slot, physicalAddress: page.pa, virtualAddress: page.uva, flags: page.flags,
                                      attributes: attributes)
            },
            brk: task.mm.brk)
    }
}
