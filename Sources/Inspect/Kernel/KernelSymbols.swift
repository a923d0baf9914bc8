import KernelABI

/// Where the kernel keeps what the debugger reads (kernel virtual addresses),
/// from the ELF symbol table, and how to reach them in physical memory.
public struct KernelSymbols: Codable, Sendable, Hashable {
    public var tasks: UInt64
    public var current: UInt64
    public var pool: UInt64
    public var log: UInt64
    public var layout: UInt64
    public var tick: UInt64
    /// `mm_cpus` and `mm_cpu_count` (layout version 2; nil for a kernel without them).
    public var cpus: UInt64?
    public var cpuCount: UInt64?

    /// Addresses given directly (tests with synthetic memory).
    public init(tasks: UInt64, current: UInt64, pool: UInt64, log: UInt64, layout: UInt64, tick: UInt64,
                cpus: UInt64? = nil, cpuCount: UInt64? = nil) {
        self.cpus = cpus
        self.cpuCount = cpuCount
        self.tasks = tasks
        self.current = current
        self.pool = pool
        self.log = log
        self.layout = layout
        self.tick = tick
    }

    /// Looks the globals of `Sources/KernelSupport/globals.c` up in the ELF.
    public init(elf: ELFFile) throws(KernelInspectionError) {
        func address(_ name: String) throws(KernelInspectionError) -> UInt64 {
            guard let symbol = elf.symbol(named: name) else { throw .missingSymbol(name) }
            return symbol.address
        }
        self.init(tasks: try address("mm_tasks"), current: try address("mm_current"), pool: try address("mm_pool"),
                  log: try address("mm_log"), layout: try address("mm_layout"), tick: try address("mm_tick"),
                  cpus: elf.symbol(named: "mm_cpus")?.address, cpuCount: elf.symbol(named: "mm_cpu_count")?.address)
    }

    /// Physical address of a kernel virtual address in the linear map
    /// (KVA = PA + MM_LINEAR_MAP_BASE). Reading kernel globals physically
    /// works whatever TTBR0 holds and needs no walk.
    public static func physical(_ kernelVirtual: UInt64) -> UInt64 {
        kernelVirtual &- MM_LINEAR_MAP_BASE
    }

    /// The linear-map kernel virtual address of a physical address.
    public static func kernelVirtual(_ physical: UInt64) -> UInt64 {
        physical &+ MM_LINEAR_MAP_BASE
    }
}
