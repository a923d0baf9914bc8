import Inspect
import KernelABI
import MmdbgCore

/// The kernel state fault actions and expectations read and write, over a
/// stopped target: the current pid (two small reads per hit, since
/// selection asks on every hit), tasks and the page pool (Inspect), PTE
/// locations (Inspect's walker), and raw writes through the kernel's linear map.
public final class KernelAccess {
    /// The session's target (registers, memory, stop points).
    public let target: DebugTarget
    public let elf: ELFFile
    private let symbols: KernelSymbols
    /// When set, every register and memory write lands here too (a recorded firing's writes).
    public var writeLog: [InjectedWrite]?

    public init(target: DebugTarget, elf: ELFFile) throws(FaultInjectionError) {
        self.target = target
        self.elf = elf
        do { symbols = try KernelSymbols(elf: elf) } catch { throw .inspection(error.description) }
    }

    /// The address of `mm_pool.free_pages` (one word: the cheapest way to follow the pool).
    public var poolFreePagesAddress: UInt64 {
        symbols.pool + UInt64(MemoryLayout<mm_page_pool>.offset(of: \mm_page_pool.free_pages)!)
    }

    /// Pid of the task the stopping CPU runs (`mm_current` on the boot CPU,
    /// `mm_cpus[N].current` on CPU N > 0), or nil before the first task runs.
    public func currentPID() throws(FaultInjectionError) -> Int64? {
        var currentAddress = symbols.current
        if let cpu = target.lastStopCPU, cpu > 1, let cpus = symbols.cpus, cpu <= Int(MM_MAX_CPUS) {
            currentAddress = cpus + UInt64((cpu - 1) * MemoryLayout<mm_cpu>.size) + UInt64(MemoryLayout<mm_cpu>.offset(of: \mm_cpu.current)!)
        }
        let pointer = try readWord(currentAddress)
        guard pointer != 0 else { return nil }
        return Int64(bitPattern: try readWord(pointer + UInt64(MemoryLayout<mm_task>.offset(of: \mm_task.pid)!)))
    }

    /// A fresh inspector (its caches must not outlive this stop).
    public func inspector() throws(FaultInjectionError) -> KernelInspector {
        let context = TranslationContext(registers: try call { () throws(CommandError) in
            try TranslationRegisters.read { names throws(CommandError) in try target.readRegisters(names) }
        })
        do {
            return try KernelInspector(memory: target.memory, symbols: symbols, context: context)
        } catch { throw .inspection(error.description) }
    }

    public func snapshot() throws(FaultInjectionError) -> KernelSnapshot {
        let inspector = try inspector()
        do { return try inspector.snapshot() } catch { throw .inspection(error.description) }
    }

    /// The task with `pid`, or nil if no slot holds it (reaped or never born).
    public func task(pid: Int64) throws(FaultInjectionError) -> TaskInfo? {
        try snapshot().tasks.first { $0.pid == pid }
    }

    public func freePages() throws(FaultInjectionError) -> UInt64 {
        try snapshot().pool.freePages
    }

    /// Runs every consistency check.
    public func check() throws(FaultInjectionError) -> ConsistencyChecker.Report {
        let inspector = try inspector()
        do { return try ConsistencyChecker(inspector: inspector).run() } catch { throw .inspection(error.description) }
    }

    /// Sets task `pid`'s `mm.brk`; returns the old value.
    public func setBrk(pid: Int64, to value: UInt64) throws(FaultInjectionError) -> UInt64 {
        guard let task = try task(pid: pid) else { throw .noSuchTask(pid) }
        let offset = MemoryLayout<mm_task>.offset(of: \mm_task.mm)! + MemoryLayout<mm_struct>.offset(of: \mm_struct.brk)!
        try writeWord(task.address + UInt64(offset), value)
        return task.mm.brk
    }

    /// Applies `corruption` to the leaf descriptor for `va` in task `pid`;
    /// returns (old, new) descriptor values.
    public func corruptPTE(pid: Int64, virtualAddress va: UInt64,
                           _ corruption: PTECorruption) throws(FaultInjectionError) -> (old: UInt64, new: UInt64) {
        guard let task = try task(pid: pid) else { throw .noSuchTask(pid) }
        let inspector = try inspector()
        let translation: Translation
        do { translation = try inspector.walker(for: task).translate(va) } catch { throw .inspection(error.description) }
        guard translation.isMapped, let leaf = translation.steps.last else {
            throw .noPageDescriptor(pid: pid, virtualAddress: va)
        }
        // Tables live in RAM, which the kernel maps linearly in TTBR1: a
        // plain virtual write there needs no physical-memory mode switch.
        let slot = KernelSymbols.kernelVirtual(leaf.descriptorAddress)
        let old = try readWord(slot)
        let new = corruption.apply(to: old)
        try writeWord(slot, new)
        return (old, new)
    }

    public func readWord(_ address: UInt64) throws(FaultInjectionError) -> UInt64 {
        try call { () throws(CommandError) in try target.readMemory(at: address, count: 8, physical: false) }
            .littleEndianUInt64(at: 0)
    }

    public func writeWord(_ address: UInt64, _ value: UInt64, size: Int = 8) throws(FaultInjectionError) {
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
        try call { () throws(CommandError) in try target.writeMemory(at: address, bytes: bytes) }
        writeLog?.append(.memory(address, value, size: size))
    }

    func call<T>(_ body: () throws(CommandError) -> T) throws(FaultInjectionError) -> T {
        do throws(CommandError) { return try body() } catch { throw .command(error) }
    }

    func readRegister(_ name: String) throws(FaultInjectionError) -> UInt64 {
        try call { () throws(CommandError) in try target.readRegisters([name])[0] }
    }

    func writeRegister(_ name: String, _ value: UInt64) throws(FaultInjectionError) {
        try call { () throws(CommandError) in try target.writeRegister(name, value: value) }
        writeLog?.append(.register(name, value))
    }
}
