import GdbRemote

/// One broken invariant, printed as one line naming task, VA and problem.
public struct ConsistencyFinding: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// A `user_pages` entry whose VA has no page descriptor.
        case missingPTE
        /// The PTE maps another physical page than `user_pages` records.
        case wrongPhysicalPage
        /// The PTE's attribute bits differ from the recorded flags.
        case wrongFlags
        /// A user PTE with no `user_pages` entry.
        case unrecordedPTE
        /// A mapped page (user page or table) is on the free list.
        case mappedAndFree
        /// A mapped page still holds the free-page poison and a free-list link.
        case poisonedMappedPage
        /// The same physical page is mapped at two places.
        case sharedPhysicalPage
        /// Writable and executable at the same exception level.
        case writableAndExecutable
        /// A table the walk finds is not in `kernel_pages`.
        case unrecordedTable
        /// A descriptor the walker could not trust.
        case malformedDescriptor
        /// The free list and the pool counters disagree.
        case poolCounters
        /// A kernel-half (TTBR1) run that some exception level may both write and execute
        /// (Linux's CONFIG_DEBUG_WX "insecure W+X mapping").
        case kernelWritableAndExecutable
        /// A kernel-half (TTBR1) run EL0 may execute (UXN clear).
        case kernelUserExecutable
        /// Two CPUs' `mm_cpus[].current` name the same task.
        case taskOnTwoCPUs
        /// A CPU's TTBR0 points at a page on the free list.
        case ttbr0OnFreedPage
        /// Two CPUs run different address spaces (TTBR0 tables) under one ASID.
        case asidShared
    }

    public var kind: Kind
    public var pid: Int64?
    public var taskName: String?
    public var virtualAddress: UInt64?
    public var physicalAddress: UInt64?
    public var detail: String

    /// `pid 2 (init) va 0x400000: PTE maps 0x41002000, user_pages records 0x41001000`.
    public var description: String {
        var text = ""
        if let pid { text += "pid \(pid) (\(taskName ?? "?"))" } else { text += "kernel" }
        if let virtualAddress { text += " va \(Hex.format(virtualAddress))" }
        if let physicalAddress, virtualAddress == nil { text += " pa \(Hex.format(physicalAddress))" }
        return text + ": " + detail
    }
}
