import Inspect

/// `KernelViews` backed by Inspect. This file holds the per-stop inputs
/// (registers, ELF symbols, a cached memory source, the kernel snapshot);
/// each view, with its text and JSON, is in its own file beside it
/// (`+Tasks`, `+Translation`, `+Snapshots`, `+Checks`). The views call
/// Inspect's walker, inspector, checker and snapshot diff: no decoding here.
///
/// Every view reads tables and kernel structures physically, so each one runs
/// inside ONE physical-memory scope of Inspect's `GdbMemorySource`: the mode
/// switch (three round trips) is paid once per command, not once per batch,
/// and `vtop` costs one round trip per level.
public final class InspectKernelViews: KernelViews {
    unowned let session: Session
    private var memory: CachingMemorySource?
    /// The target memory `memory` caches (a re-attach brings a new one).
    private weak var cachedTargetMemory: WritableMemorySource?
    /// The device-memory guard for virtual reads; its tables are valid for one stop.
    private var guardedReader: GuardedMemoryReader?
    private var cachedContext: TranslationContext?
    private var cachedInspector: KernelInspector?
    /// Virtual pages read at this stop (`cachedPages`), for the target memory and write count they were read at.
    private var pageCache: [UInt64: [UInt8]] = [:]
    private var pageCacheWrites = -1
    private weak var pageCacheMemory: WritableMemorySource?
    /// The page pool and its free list at this stop (`pagePoolNote`).
    var cachedFreePages: (PagePoolCounters, Set<UInt64>)?
    /// Page tables as they were at the previous stop (captured before each resume).
    var previousStop: AddressSpaceSnapshot?
    var named: [String: AddressSpaceSnapshot] = [:]

    public init(session: Session) { self.session = session }

    public func invalidate() {
        memory?.invalidate()
        guardedReader = nil
        cachedContext = nil
        cachedInspector = nil
        cachedFreePages = nil
        pageCache.removeAll()
    }

    // MARK: inputs

    /// The target's memory, uncached (virtual reads for commands).
    func targetMemory() throws(CommandError) -> WritableMemorySource {
        try session.requireTarget(for: "reading memory").memory
    }

    /// The target's memory behind a per-stop cache (tables, kernel structures).
    func memorySource() throws(CommandError) -> CachingMemorySource {
        let target = try targetMemory()
        if let memory, cachedTargetMemory === target { return memory }
        let fresh = CachingMemorySource(target)
        memory = fresh
        cachedTargetMemory = target
        return fresh
    }

    /// Runs `body` inside one physical-memory scope when the target's memory
    /// has one (the stub's mode switch costs three round trips: paid once per
    /// command, not once per batch). Without a stopped target the body runs
    /// as is and fails with its own, more precise error.
    func physically<T>(_ body: () throws(CommandError) -> T) throws(CommandError) -> T {
        guard session.state != .running, let scoped = try? targetMemory() as? PhysicalScopedMemorySource else {
            return try body()
        }
        return try scoped.withPhysicalMode(body)
    }

    public func currentTaskID() throws(CommandError) -> Int? {
        guard session.symbols is ELFSymbolTable, (try? session.requireLayout(for: "prompt task")) != nil else { return nil }
        let snapshot = try physically { () throws(CommandError) in try kernelSnapshot() }
        // SMP: the selected CPU's task (mm_cpus[i].current); mm_current is the boot CPU's.
        if let index = session.selectedCPU, let cpu = snapshot.cpus.first(where: { $0.index == index }) {
            return cpu.currentSlot.map { Int(snapshot.slots[$0].pid) }
        }
        return snapshot.currentSlot.map { Int(snapshot.slots[$0].pid) }
    }

    func context() throws(CommandError) -> TranslationContext {
        if let cachedContext { return cachedContext }
        let target = try session.requireStoppedTarget(for: "page tables")
        let context = TranslationContext(registers: try TranslationRegisters.read { names throws(CommandError) in
            try target.readRegisters(names)
        })
        cachedContext = context
        return context
    }

    func inspector() throws(CommandError) -> KernelInspector {
        if let cachedInspector { return cachedInspector }
        guard let elf = (session.symbols as? ELFSymbolTable)?.elf else {
            throw .unavailable("kernel structures need the kernel ELF (start with --elf FILE)")
        }
        let memory = try memorySource()
        let context = try context()
        do throws(KernelInspectionError) {
            let inspector = try KernelInspector(memory: memory, symbols: try KernelSymbols(elf: elf), context: context)
            cachedInspector = inspector
            return inspector
        } catch {
            throw .target(error.description)
        }
    }

    func kernelSnapshot() throws(CommandError) -> KernelSnapshot {
        let inspector = try inspector()
        return try inspect { () throws(KernelInspectionError) in try inspector.snapshot() }
    }

    func task(_ pid: Int) throws(CommandError) -> TaskInfo {
        guard let task = try kernelSnapshot().tasks.first(where: { $0.pid == Int64(pid) }) else {
            throw .failed("no task with pid \(pid) (see `tasks`)")
        }
        return task
    }

    /// A task whose own tables a view walks. A task with no tables (idle's pgd
    /// is 0) is a one-line error: walking "its" tables would read PA 0 as a table.
    func taskWithAddressSpace(_ pid: Int) throws(CommandError) -> TaskInfo {
        let task = try task(pid)
        guard task.mm.pgd != 0 else { throw .failed("task \(pid) (\(task.name)) has no address space") }
        return task
    }

    func inspect<T>(_ body: () throws(KernelInspectionError) -> T) throws(CommandError) -> T {
        do throws(KernelInspectionError) { return try body() } catch { throw .target(error.description) }
    }

    func walk<T>(_ body: () throws(TranslationError) -> T) throws(CommandError) -> T {
        do throws(TranslationError) { return try body() } catch { throw .target(error.description) }
    }

    public func readVirtualMemory(at address: UInt64, count: Int) throws(CommandError) -> [UInt8] {
        let memory = try targetMemory()
        // MMU off: VA = PA, no MAIR to consult. The stub's own read is exact there (an address
        // beyond the physical range fails instead of reading as zeros in physical mode) and the
        // QEMU adapter already refuses device memory for it.
        let context = try context()
        guard context.sctlr.mmuEnabled else {
            return try session.requireStoppedTarget(for: "reading memory").readMemory(at: address, count: count, physical: false)
        }
        let reader: GuardedMemoryReader
        if let guardedReader, guardedReader.memory === memory {
            reader = guardedReader
        } else {
            // Data reads go uncached to the target; the reader caches only the tables.
            reader = GuardedMemoryReader(memory: memory, context: context)
            guardedReader = reader
        }
        return try cachedPages(at: address, count: count, memory: memory) { (start, length) throws(CommandError) in
            do throws(GuardedReadError) { return try reader.read(virtual: start, length: length) } catch {
                throw .target(error.description)
            }
        }
    }

    /// Virtual reads of this stop, kept by 4 KiB page: `print` of the same value again, or of
    /// another member of a struct already read, costs no round trip (the goal for typed data).
    /// A page is read whole only when it is mapped and not Device memory (the guard has
    /// checked it; a 4 KiB page shares one mapping under every granule). A read the page
    /// cannot serve (an unmapped or device page, or one over 64 KiB) goes to `read` as it is,
    /// uncached, so its error names the address asked for. Dropped at `invalidate()` (resume,
    /// CPU switch) and when the target has taken a write since.
    private func cachedPages(at address: UInt64, count: Int, memory: WritableMemorySource,
                             _ read: (UInt64, Int) throws(CommandError) -> [UInt8]) throws(CommandError) -> [UInt8] {
        let writes = session.target?.memoryWrites ?? -1
        guard writes >= 0, count > 0, count <= 64 * 1024 else { return try read(address, count) }
        if pageCacheWrites != writes || pageCacheMemory !== memory {
            pageCache.removeAll()
            pageCacheWrites = writes
            pageCacheMemory = memory
        }
        var result: [UInt8] = []
        result.reserveCapacity(count)
        var next = address
        var remaining = count
        while remaining > 0 {
            let page = next & ~UInt64(0xfff)
            let offset = Int(next - page)
            let length = min(remaining, 4096 - offset)
            let bytes: [UInt8]
            if let cached = pageCache[page] {
                bytes = cached
            } else if let whole = try? read(page, 4096), whole.count == 4096 {
                pageCache[page] = whole
                bytes = whole
            } else {
                result += try read(next, length)
                next &+= UInt64(length)
                remaining -= length
                continue
            }
            result += bytes[offset..<(offset + length)]
            next &+= UInt64(length)
            remaining -= length
        }
        return result
    }

    public func targetWillResume() {
        // What `pt diff` without a name compares with; a failure (MMU off) just means no baseline.
        previousStop = try? physically { () throws(CommandError) in try captureSnapshot() }
    }

    // MARK: dumps

    func dump(_ space: AddressSpaceSelector) throws(CommandError) -> AddressSpaceDump {
        switch space {
        case .current:
            let walker = TranslationTableWalker(memory: try memorySource(), context: try context())
            return try walk { () throws(TranslationError) in try walker.dump() }
        case .kernel:
            let walker = TranslationTableWalker(memory: try memorySource(), context: try context())
            return try walk { () throws(TranslationError) in try walker.dump(halves: [.upper]) }
        case .task(let pid):
            let task = try taskWithAddressSpace(pid)
            let inspector = try inspector()
            return try inspect { () throws(KernelInspectionError) in try inspector.addressSpace(of: task) }
        }
    }

    /// The CPU's current tables, plus every task's when the ELF is known.
    func captureSnapshot() throws(CommandError) -> AddressSpaceSnapshot {
        var spaces = ["cpu": try dump(.current)]
        if session.symbols is ELFSymbolTable, let tasks = try? kernelSnapshot().tasks {
            for task in tasks where task.mm.pgd != 0 {
                if let dump = try? dump(.task(Int(task.pid))) { spaces["pid \(task.pid)"] = dump }
            }
        }
        return AddressSpaceSnapshot(spaces: spaces)
    }
}

/// A failure entering or leaving physical-memory mode is the target's failure.
extension CommandError: MemoryFailureCarrying {
    public static func memory(_ error: MemoryError) -> CommandError { .target(error.description) }
}
