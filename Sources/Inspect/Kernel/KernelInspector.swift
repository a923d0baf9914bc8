import KernelABI

/// Everything the kernel's globals say at one stop, read in one batch.
public struct KernelSnapshot: Codable, Sendable, Hashable {
    /// Every slot of `mm_tasks`, free ones included.
    public var slots: [TaskInfo]
    /// Slot `mm_current` points at (nil: null or not inside the table).
    public var currentSlot: Int?
    /// `mm_pool`.
    public var pool: PagePoolCounters
    /// `mm_tick`: timer ticks since boot.
    public var tick: UInt64
    /// The CPUs the kernel started (`mm_cpus[0..<mm_cpu_count]`); empty for a kernel without them.
    public var cpus: [CPUInfo] = []

    /// Slots in use (state other than FREE).
    public var tasks: [TaskInfo] { slots.filter { $0.state != .free } }
}

/// Decodes the mmdbg kernel's structures from guest memory, using the one
/// layout definition in KernelABI. Creating it reads the kernel's `mm_layout`
/// record and refuses a kernel built with a different layout.
///
/// Kernel globals are read physically through the linear map, so the view
/// works whatever task is current; a task's page tables are walked from its
/// own `mm.pgd`, so sleeping and runnable tasks can be inspected too.
public final class KernelInspector {
    /// Where guest memory comes from (wrap it in a `CachingMemorySource`).
    public let memory: any MemorySource
    /// Kernel virtual addresses of the globals.
    public let symbols: KernelSymbols
    /// The live translation state (the kernel half and TCR/MAIR shared by every task).
    public let context: TranslationContext
    /// The kernel's layout record (equal to `KernelLayout.host` once created).
    public let layout: KernelLayout
    private let memoryTypes: [MemoryType]

    /// Reads `mm_layout` from the guest and throws `layoutMismatch` unless it matches KernelABI.
    public init(memory: any MemorySource, symbols: KernelSymbols, context: TranslationContext) throws(KernelInspectionError) {
        self.memory = memory
        self.symbols = symbols
        self.context = context
        memoryTypes = (0..<8).map { context.mair.attribute($0) }
        let bytes = try KernelInspector.read(memory, [MemoryRequest(.physical, address: KernelSymbols.physical(symbols.layout),
                                                                   length: KernelLayout.recordSize)])[0]
        layout = try KernelLayout(recordBytes: bytes)
        try layout.verify()
    }

    /// Task table, current task, pool counters and tick, in one round trip.
    public func snapshot() throws(KernelInspectionError) -> KernelSnapshot {
        let taskSize = MemoryLayout<mm_task>.size
        let count = Int(MM_NR_TASKS)
        let replies = try KernelInspector.read(memory, [
            MemoryRequest(.physical, address: KernelSymbols.physical(symbols.tasks), length: taskSize * count),
            MemoryRequest(.physical, address: KernelSymbols.physical(symbols.current), length: 8),
            MemoryRequest(.physical, address: KernelSymbols.physical(symbols.pool), length: MemoryLayout<mm_page_pool>.size),
            MemoryRequest(.physical, address: KernelSymbols.physical(symbols.tick), length: 8),
        ] + cpuRequests)
        let current = replies[1].littleEndianUInt64(at: 0)
        var currentSlot: Int? = nil
        if current >= symbols.tasks, (current - symbols.tasks) % UInt64(taskSize) == 0,
           (current - symbols.tasks) / UInt64(taskSize) < UInt64(count) {
            currentSlot = Int((current - symbols.tasks) / UInt64(taskSize))
        }
        let slots = replies[0].withUnsafeBytes { raw in
            (0..<count).map { slot in
                TaskInfo(task: raw.loadUnaligned(fromByteOffset: slot * taskSize, as: mm_task.self), slot: slot,
                         address: symbols.tasks + UInt64(slot * taskSize), isCurrent: slot == currentSlot,
                         memoryTypes: memoryTypes)
            }
        }
        let pool = replies[2].withUnsafeBytes { PagePoolCounters($0.loadUnaligned(as: mm_page_pool.self)) }
        var snapshot = KernelSnapshot(slots: slots, currentSlot: currentSlot, pool: pool, tick: replies[3].littleEndianUInt64(at: 0))
        if replies.count == 6 { snapshot.cpus = decodeCPUs(count: replies[4], entries: replies[5]) }
        return snapshot
    }

    /// `mm_cpu_count` and `mm_cpus[]`, when the kernel has them.
    private var cpuRequests: [MemoryRequest] {
        guard let cpusAddress = symbols.cpus, let countAddress = symbols.cpuCount else { return [] }
        return [MemoryRequest(.physical, address: KernelSymbols.physical(countAddress), length: 8),
                MemoryRequest(.physical, address: KernelSymbols.physical(cpusAddress),
                              length: MemoryLayout<mm_cpu>.size * Int(MM_MAX_CPUS))]
    }

    /// `mm_cpus[0..<mm_cpu_count]` (count clamped to 1...MM_MAX_CPUS); empty when the kernel has no such symbols.
    public func cpus() throws(KernelInspectionError) -> [CPUInfo] {
        let requests = cpuRequests
        if requests.isEmpty { return [] }
        let replies = try KernelInspector.read(memory, requests)
        return decodeCPUs(count: replies[0], entries: replies[1])
    }

    private func decodeCPUs(count countBytes: [UInt8], entries: [UInt8]) -> [CPUInfo] {
        let cpuSize = MemoryLayout<mm_cpu>.size, taskSize = UInt64(MemoryLayout<mm_task>.size)
        guard countBytes.count == 8, entries.count == cpuSize * Int(MM_MAX_CPUS) else { return [] }
        let count = Int(min(max(countBytes.littleEndianUInt64(at: 0), 1), UInt64(MM_MAX_CPUS)))
        let tasks = symbols.tasks
        func slot(_ address: UInt64) -> Int? {
            guard address >= tasks, (address - tasks) % taskSize == 0, (address - tasks) / taskSize < UInt64(MM_NR_TASKS) else { return nil }
            return Int((address - tasks) / taskSize)
        }
        return entries.withUnsafeBytes { raw in
            (0..<count).map { CPUInfo(raw.loadUnaligned(fromByteOffset: $0 * cpuSize, as: mm_cpu.self), index: $0, slot: slot) }
        }
    }

    /// Tasks in use (slots whose state is not FREE).
    public func tasks() throws(KernelInspectionError) -> [TaskInfo] {
        try snapshot().tasks
    }

    /// Page-pool counters.
    public func pagePool() throws(KernelInspectionError) -> PagePoolCounters {
        try snapshot().pool
    }

    /// The kernel log ring.
    public func log() throws(KernelInspectionError) -> KernelLog {
        let bytes = try KernelInspector.read(memory, [MemoryRequest(.physical, address: KernelSymbols.physical(symbols.log),
                                                                   length: KernelLog.structureSize)])[0]
        return try KernelLog(structureBytes: bytes)
    }

    /// A walker over `task`'s address space: TTBR0 = its `mm.pgd`, the rest live.
    public func walker(for task: TaskInfo) -> TranslationTableWalker {
        TranslationTableWalker(memory: memory, context: context.withLowerTable(task.mm.pgd))
    }

    /// The user half of `task`'s address space.
    public func addressSpace(of task: TaskInfo) throws(KernelInspectionError) -> AddressSpaceDump {
        do { return try walker(for: task).dump(halves: [.lower]) } catch { throw .translation(error) }
    }

    /// The user halves of several tasks in one walk (one round trip per level for all).
    public func addressSpaces(of tasks: [TaskInfo]) throws(KernelInspectionError) -> [AddressSpaceDump] {
        do { return try TranslationTableWalker.dump(tasks.map { (walker(for: $0), [TranslationHalf.lower]) }) } catch {
            throw .translation(error)
        }
    }

    static func read(_ memory: any MemorySource, _ requests: [MemoryRequest]) throws(KernelInspectionError) -> [[UInt8]] {
        do { return try memory.read(requests) } catch { throw .memory(error) }
    }
}
