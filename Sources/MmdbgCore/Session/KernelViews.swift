import Inspect

/// Which translation tables `pt` and `vtop` walk.
public enum AddressSpaceSelector: Equatable, Sendable {
    /// What the CPU uses now: TTBR0_EL1 and TTBR1_EL1.
    case current
    /// The kernel half only (TTBR1_EL1).
    case kernel
    /// A task's tables, from its `mm.pgd`.
    case task(Int)

    /// A task's own tables (read through the task table, so the layout check gates it).
    public var isTask: Bool { if case .task = self { return true } else { return false } }
}

/// One VA's walk, re-read from memory each call (`KernelViews.descriptorWalk`).
public typealias DescriptorWalk = (UInt64) throws(CommandError) -> [WalkStep]

/// Filters of `pt` (all optional; combined with AND).
public struct PageTableFilters: Equatable, Sendable {
    /// `--user`: only mappings EL0 can access.
    public var userOnly = false
    /// `--kernel-only`: only mappings EL0 cannot access.
    public var kernelOnly = false
    public var writable = false
    public var executable = false
    /// `--from`/`--to`: the VA range [from, to).
    public var from: UInt64?
    public var to: UInt64?
    public init() {}
}

/// The kernel and translation views, backed by the Inspect module. The
/// implementation renders Inspect's values into `CommandOutput`; the commands
/// only parse arguments and call these.
public protocol KernelViews: AnyObject {
    /// Pids of the live tasks (for completion).
    func taskIDs() throws(CommandError) -> [Int]
    func tasks() throws(CommandError) -> CommandOutput
    func task(pid: Int) throws(CommandError) -> CommandOutput
    func pageTables(_ space: AddressSpaceSelector, filters: PageTableFilters) throws(CommandError) -> CommandOutput
    func translate(_ address: UInt64, pid: Int?) throws(CommandError) -> CommandOutput
    /// Captures the page tables (all tasks and the kernel) under `name`.
    func snapshot(name: String) throws(CommandError) -> CommandOutput
    /// Differences since the snapshot `name`, or since the last stop when nil.
    func diff(since name: String?) throws(CommandError) -> CommandOutput
    func check() throws(CommandError) -> CommandOutput
    func log(last: Int?) throws(CommandError) -> CommandOutput
    /// `count` bytes at virtual `address`, translated by the debugger's own
    /// walk and refused when any page is Device memory (a stub read of MMIO has
    /// side effects and can crash QEMU).
    func readVirtualMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8]
    /// The pid of the task the CPU runs (`mm_current`), or nil before the kernel has one
    /// or without the kernel ELF (the prompt shows it).
    func currentTaskID() throws(CommandError) -> Int?
    /// Where the kernel's exception entry resumes once its handler returns: a
    /// backtrace frame with this PC sits on a saved trap frame (its SP), and
    /// unwinding goes on in the context the exception interrupted. Nil when the
    /// kernel has no such entry (not the mmdbg kernel).
    func exceptionReturnAddress() -> UInt64?
    /// The context an exception interrupted, read from the trap frame at `address`.
    func interruptedContext(trapFrameAt address: UInt64) throws(CommandError) -> InterruptedContext
    /// The EL0 program the current task runs (its ELF image, embedded in the kernel), or nil.
    func userProgram() -> EmbeddedUserProgram?
    /// The walk of one VA through `pid`'s tables (the CPU's without a pid), rooted and
    /// configured as the target is now and re-read from memory at every call.
    func descriptorWalk(pid: Int?) throws(CommandError) -> DescriptorWalk
    /// Each vCPU: EL, PC, the kernel's current task and state, TTBR0 + ASID, TTBR1, IRQ mask.
    func cpus() throws(CommandError) -> CommandOutput
    /// `free page`, `allocated page` or `outside the page pool` for a physical address; nil when unknown.
    func pagePoolNote(_ physicalAddress: UInt64) -> String?
    /// A leaf descriptor's attribute bits as `vtop` prints them (`k:rw- u:rw- Normal … AF nG`); nil when unknown.
    func leafAttributesText(_ raw: UInt64) -> String?
    /// Refuses with one line when any page of [address, address+count) is mapped read-only at EL1
    /// (`set var` does not write what the kernel itself could not); MMU off: everything is writable.
    func requireWritable(at address: UInt64, count: Int) throws(CommandError)
    /// `print/pte`: a 64-bit value decoded as a translation descriptor, every reading its type bits allow.
    func descriptorReadings(_ raw: UInt64) throws(CommandError) -> CommandOutput
    /// Forgets everything read from the stopped target (it resumed or was written).
    func invalidate()
    /// Called just before the target resumes (what `pt diff` compares with).
    func targetWillResume()
}

/// The registers an exception saved, and what the exception was.
public struct InterruptedContext: Sendable {
    /// `SVC from EL0`, `data abort from EL0`, `irq`: what a backtrace prints at the boundary.
    public var summary: String
    /// `synchronous`, `irq`, `fiq`, `serror`.
    public var kind: String
    /// The exception level that was interrupted.
    public var fromLevel: Int
    /// x0…x30, sp (31) and pc (32) of the interrupted context.
    public var registers: [Int: UInt64]
    /// The saved PC is the instruction after the trapping one (an SVC): its
    /// line is looked up at pc-1, as for a return address.
    public var pcFollowsTrap: Bool
    public init(summary: String, kind: String, fromLevel: Int, registers: [Int: UInt64], pcFollowsTrap: Bool) {
        self.summary = summary
        self.kind = kind
        self.fromLevel = fromLevel
        self.registers = registers
        self.pcFollowsTrap = pcFollowsTrap
    }
}

/// A user program's ELF image (the kernel embeds it), for naming EL0 frames.
public struct EmbeddedUserProgram: Sendable {
    public var name: String
    public var image: [UInt8]
    public init(name: String, image: [UInt8]) {
        self.name = name
        self.image = image
    }
}

extension KernelViews {
    public func descriptorWalk(pid: Int?) throws(CommandError) -> DescriptorWalk {
        throw .unavailable("pte-history needs the kernel views over a live target")
    }
}
