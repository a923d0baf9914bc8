import GdbRemote
import KernelABI

/// The kernel's exported `mm_layout` record, and the same record computed on
/// the host from KernelABI (`MemoryLayout<mm_task>.offset(of:)`): the debugger
/// decodes a kernel only when both agree.
public struct KernelLayout: Codable, Sendable, Hashable {
    public var magic: UInt64
    public var version: UInt32
    public var sizeofTask: UInt32
    public var sizeofMM: UInt32
    public var sizeofUserPage: UInt32
    public var offsetofTaskMM: UInt32
    public var offsetofTaskState: UInt32
    public var offsetofTaskPID: UInt32
    public var offsetofMMUserPages: UInt32
    public var offsetofMMBrk: UInt32
    public var taskCount: UInt32
    public var maxPageCount: UInt32
    public var logRingSize: UInt32
    /// Version 2 (SMP): sizeof(mm_cpu) and MM_MAX_CPUS.
    public var sizeofCPU: UInt32 = UInt32(MemoryLayout<mm_cpu>.size)
    public var maxCPUs: UInt32 = UInt32(MM_MAX_CPUS)

    /// Bytes of the record in guest memory.
    public static let recordSize = MemoryLayout<mm_layout_record>.size

    /// What this debugger was compiled against.
    public static let host = KernelLayout(
        magic: MM_LAYOUT_MAGIC, version: UInt32(MM_LAYOUT_VERSION),
        sizeofTask: UInt32(MemoryLayout<mm_task>.size), sizeofMM: UInt32(MemoryLayout<mm_struct>.size),
        sizeofUserPage: UInt32(MemoryLayout<mm_user_page>.size),
        offsetofTaskMM: UInt32(MemoryLayout<mm_task>.offset(of: \.mm)!),
        offsetofTaskState: UInt32(MemoryLayout<mm_task>.offset(of: \.state)!),
        offsetofTaskPID: UInt32(MemoryLayout<mm_task>.offset(of: \.pid)!),
        offsetofMMUserPages: UInt32(MemoryLayout<mm_struct>.offset(of: \.user_pages)!),
        offsetofMMBrk: UInt32(MemoryLayout<mm_struct>.offset(of: \.brk)!),
        taskCount: UInt32(MM_NR_TASKS), maxPageCount: UInt32(MM_MAX_PAGE_COUNT), logRingSize: UInt32(MM_LOG_RING_SIZE))

    /// A record with every field given (tests build wrong ones).
    public init(magic: UInt64, version: UInt32, sizeofTask: UInt32, sizeofMM: UInt32, sizeofUserPage: UInt32,
                offsetofTaskMM: UInt32, offsetofTaskState: UInt32, offsetofTaskPID: UInt32, offsetofMMUserPages: UInt32,
                offsetofMMBrk: UInt32, taskCount: UInt32, maxPageCount: UInt32, logRingSize: UInt32) {
        self.magic = magic
        self.version = version
        self.sizeofTask = sizeofTask
        self.sizeofMM = sizeofMM
        self.sizeofUserPage = sizeofUserPage
        self.offsetofTaskMM = offsetofTaskMM
        self.offsetofTaskState = offsetofTaskState
        self.offsetofTaskPID = offsetofTaskPID
        self.offsetofMMUserPages = offsetofMMUserPages
        self.offsetofMMBrk = offsetofMMBrk
        self.taskCount = taskCount
        self.maxPageCount = maxPageCount
        self.logRingSize = logRingSize
    }

    /// Decodes the raw `mm_layout_record` bytes read from the guest or the ELF.
    public init(recordBytes bytes: [UInt8]) throws(KernelInspectionError) {
        guard bytes.count >= KernelLayout.recordSize else {
            throw .corrupt("mm_layout record is \(bytes.count) bytes, expected \(KernelLayout.recordSize)")
        }
        let record = bytes.withUnsafeBytes { $0.loadUnaligned(as: mm_layout_record.self) }

        self.init(magic: record.magic, version: record.version, sizeofTask: record.sizeof_task, sizeofMM: record.sizeof_mm,
                  sizeofUserPage: record.sizeof_user_page, offsetofTaskMM: record.offsetof_task_mm,
                  offsetofTaskState: record.offsetof_task_state, offsetofTaskPID: record.offsetof_task_pid,
                  offsetofMMUserPages: record.offsetof_mm_user_pages, offsetofMMBrk: record.offsetof_mm_brk,
                  taskCount: record.nr_tasks, maxPageCount: record.max_page_count, logRingSize: record.log_ring_size)
        sizeofCPU = record.sizeof_cpu
        maxCPUs = record.max_cpus
    }

    /// The record as linked into the kernel image (`mm_layout` is `const`, in
    /// `.rodata`): the layout can be checked before any target exists.
    public init(elf: ELFFile) throws(KernelInspectionError) {
        guard let symbol = elf.symbol(named: "mm_layout") else { throw .missingSymbol("mm_layout") }
        let bytes: [UInt8]
        do { bytes = try elf.contents(at: symbol.address, length: KernelLayout.recordSize) } catch {
            throw .corrupt("cannot read mm_layout from the ELF: \(error)")
        }
        try self.init(recordBytes: bytes)
    }

    /// One line per field that differs from `expected` (empty: compatible).
    public func differences(from expected: KernelLayout = .host) -> [String] {
        var out: [String] = []
        func compare<T: Equatable>(_ name: String, _ mine: T, _ theirs: T) {
            if mine != theirs { out.append("\(name): kernel \(mine), debugger \(theirs)") }
        }
        compare("magic", Hex.format(magic), Hex.format(expected.magic))
        compare("version", version, expected.version)
        compare("sizeof(mm_task)", sizeofTask, expected.sizeofTask)
        compare("sizeof(mm_struct)", sizeofMM, expected.sizeofMM)
        compare("sizeof(mm_user_page)", sizeofUserPage, expected.sizeofUserPage)
        compare("offsetof(mm_task, mm)", offsetofTaskMM, expected.offsetofTaskMM)
        compare("offsetof(mm_task, state)", offsetofTaskState, expected.offsetofTaskState)
        compare("offsetof(mm_task, pid)", offsetofTaskPID, expected.offsetofTaskPID)
        compare("offsetof(mm_struct, user_pages)", offsetofMMUserPages, expected.offsetofMMUserPages)
        compare("offsetof(mm_struct, brk)", offsetofMMBrk, expected.offsetofMMBrk)
        compare("MM_NR_TASKS", taskCount, expected.taskCount)
        compare("MM_MAX_PAGE_COUNT", maxPageCount, expected.maxPageCount)
        compare("MM_LOG_RING_SIZE", logRingSize, expected.logRingSize)
        compare("sizeof(mm_cpu)", sizeofCPU, expected.sizeofCPU)
        compare("MM_MAX_CPUS", maxCPUs, expected.maxCPUs)
        return out
    }

    /// Throws `layoutMismatch` unless the record matches the host's.
    public func verify() throws(KernelInspectionError) {
        let differences = differences()
        if !differences.isEmpty { throw .layoutMismatch(differences) }
    }
}
