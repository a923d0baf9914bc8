/// Which translation tables `pt` and `vtop` walk.
public enum AddressSpaceSelector: Equatable, Sendable {
    /// What the CPU uses now: TTBR0_EL1 and TTBR1_EL1.
    case current
    /// The kernel half only (TTBR1_EL1).
    case kernel
    /// A task's tables, from its `mm.pgd`.
    case task(Int)
}

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
    /// Each vCPU: EL, PC, the kernel's current task and state, TTBR0 + ASID, TTBR1, IRQ mask.
    func cpus() throws(CommandError) -> CommandOutput
    /// Forgets everything read from the stopped target (it resumed or was written).
    func invalidate()
    /// Called just before the target resumes (what `pt diff` compares with).
    func targetWillResume()
}
