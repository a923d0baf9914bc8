import KernelABI

/// A CPU's kernel state (`MM_CPU_*`).
public enum CPUState: String, Codable, Sendable, Hashable {
    case offline, idle, busy, unknown

    init(raw: Int64) {
        switch raw {
        case Int64(MM_CPU_OFFLINE): self = .offline
        case Int64(MM_CPU_IDLE): self = .idle
        case Int64(MM_CPU_BUSY): self = .busy
        default: self = .unknown
        }
    }
}

/// One `mm_cpus[]` entry: what the kernel says a CPU runs.
public struct CPUInfo: Codable, Sendable, Hashable {
    /// Index in `mm_cpus` (0 = the boot CPU; QEMU's CPU#N, the stub's thread N + 1).
    public var index: Int
    public var state: CPUState
    /// KVA of the task it runs (`current`), and that task's slot in `mm_tasks` (nil: outside the table).
    public var currentAddress: UInt64
    public var currentSlot: Int?
    /// Timer interrupts and reschedule IPIs it took.
    public var ticks: UInt64
    public var ipis: UInt64
    /// MPIDR_EL1 affinity.
    public var mpidr: UInt64
    /// KVA of its idle task.
    public var idleAddress: UInt64

    public init(index: Int, state: CPUState, currentAddress: UInt64, currentSlot: Int?, ticks: UInt64, ipis: UInt64,
                mpidr: UInt64, idleAddress: UInt64) {
        self.index = index
        self.state = state
        self.currentAddress = currentAddress
        self.currentSlot = currentSlot
        self.ticks = ticks
        self.ipis = ipis
        self.mpidr = mpidr
        self.idleAddress = idleAddress
    }

    init(_ cpu: mm_cpu, index: Int, slot: (UInt64) -> Int?) {
        self.init(index: index, state: CPUState(raw: cpu.state), currentAddress: cpu.current, currentSlot: slot(cpu.current),
                  ticks: cpu.ticks, ipis: cpu.ipis, mpidr: cpu.mpidr, idleAddress: cpu.idle)
    }
}

/// One CPU's translation registers, as the stub reads them (for the SMP checks).
public struct CPURegisters: Codable, Sendable, Hashable {
    /// `mm_cpus` index.
    public var cpu: Int
    public var ttbr0: UInt64

    public init(cpu: Int, ttbr0: UInt64) {
        self.cpu = cpu
        self.ttbr0 = ttbr0
    }

    /// TTBR0.BADDR (the level-0 table) and TTBR0.ASID.
    public var tableAddress: UInt64 { ttbr0 & 0x0000_FFFF_FFFF_FFFE }
    public var asid: UInt64 { ttbr0 >> 48 }
}
