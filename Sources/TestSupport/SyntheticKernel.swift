import Inspect
import KernelABI

/// The mmdbg kernel's debugger-visible state built in `SyntheticMemory` the
/// way the kernel builds it: a page pool with a poisoned free list, tasks
/// whose 4-level tables and user pages come from the pool and are recorded
/// in `kernel_pages` / `user_pages`, the layout record and the log ring.
/// Tests then corrupt it on purpose.
public final class SyntheticKernel {
    public let memory: SyntheticMemory
    public let symbols: KernelSymbols
    public let poolBase: UInt64
    public let poolPages: UInt64
    /// The decoded-by-hand state, written to memory by `publish()`.
    public var tasks = [mm_task](repeating: mm_task(), count: Int(MM_NR_TASKS))
    public var currentSlot: Int? = nil
    public var tick: UInt64 = 0
    /// `mm_cpus[]`: the slot each CPU runs (empty: one CPU running `currentSlot`).
    public var cpuCurrentSlots: [Int?] = []
    private var freeList: [UInt64] = []   // head first
    private var allocations: UInt64 = 0
    private var frees: UInt64 = 0

    /// A kernel image at PA 0x40080000 (the real one loads at 0x40200000; nothing here depends on it); globals at fixed KVAs.
    public init(memory: SyntheticMemory = SyntheticMemory(), poolBase: UInt64 = 0x4400_0000, poolPages: UInt64 = 512) {
        self.memory = memory
        self.poolBase = poolBase
        self.poolPages = poolPages
        let kernelVA = MM_LINEAR_MAP_BASE + 0x4020_0000
        symbols = KernelSymbols(tasks: kernelVA, current: kernelVA + 0x10_0000, pool: kernelVA + 0x10_0100,
                                log: kernelVA + 0x11_0000, layout: kernelVA + 0x10_0200, tick: kernelVA + 0x10_0300,
                                cpus: kernelVA + 0x10_0400, cpuCount: kernelVA + 0x10_0380)
        for i in (0..<poolPages).reversed() { push(poolBase + i * MM_PAGE_SIZE) }
        writeLayout(KernelLayout.host)
        writeLog("")
        publish()
    }

    // MARK: pool

    /// Pops a zeroed page from the free list (as get_free_page).
    public func allocatePage() -> UInt64 {
        let pa = freeList.removeFirst()
        memory.store([UInt8](repeating: 0, count: Int(MM_PAGE_SIZE)), at: pa)
        allocations += 1
        return pa
    }

    /// Poisons `pa` and pushes it on the free list (as free_page), even if still mapped.
    public func freePage(_ pa: UInt64) {
        push(pa)
        frees += 1
    }

    private static let poisonedPage = [UInt8](repeating: UInt8(truncatingIfNeeded: MM_PAGE_POISON), count: Int(MM_PAGE_SIZE))

    private func push(_ pa: UInt64) {
        memory.store(SyntheticKernel.poisonedPage, at: pa)
        memory.store64(freeList.first ?? 0, at: pa + 8)
        freeList.insert(pa, at: 0)
    }

    // MARK: tasks

    /// Fills a task slot with a fresh address space (pgd from the pool).
    @discardableResult
    public func addTask(slot: Int, pid: Int64, parent: Int64, name: String, state: Int32 = Int32(MM_TASK_RUNNABLE), brk: UInt64 = MM_HEAP_BASE) -> Int {
        var task = mm_task()
        task.pid = pid
        task.parent_pid = parent
        task.state = Int64(state)
        task.counter = 5
        task.context.pc = MM_LINEAR_MAP_BASE + 0x4008_1234
        task.context.sp = MM_LINEAR_MAP_BASE + 0x4500_0000 + UInt64(slot) * 0x1000
        withUnsafeMutableBytes(of: &task.name) { raw in
            for (i, byte) in name.utf8.prefix(Int(MM_TASK_NAME_LEN) - 1).enumerated() { raw[i] = byte }
        }
        tasks[slot] = task
        tasks[slot].mm.pgd = allocatePage()
        recordKernelPage(slot, tasks[slot].mm.pgd)
        tasks[slot].mm.brk = brk
        return slot
    }

    /// Maps a fresh pool page at `va` with `flags` in the task's tables, as map_page does.
    @discardableResult
    public func mapUserPage(slot: Int, va: UInt64, flags: UInt64, record: Bool = true) -> UInt64 {
        let pa = allocatePage()
        mapExisting(slot: slot, va: va, pa: pa, flags: flags, record: record)
        return pa
    }

    /// Writes PTE = pa | flags for `va` (creating tables) and records it.
    public func mapExisting(slot: Int, va: UInt64, pa: UInt64, flags: UInt64, record: Bool = true) {
        memory.store64(pa | flags, at: pteAddress(slot: slot, va: va))
        if record {
            withUnsafeMutableBytes(of: &tasks[slot].mm.user_pages) { raw in
                let pages = raw.bindMemory(to: mm_user_page.self)
                let free = pages.firstIndex { $0.pa == 0 }!
                pages[free] = mm_user_page(pa: pa, uva: va, flags: flags)
            }
        }
    }

    /// Physical address of the level-3 descriptor of `va` in the task's tables.
    public func pteAddress(slot: Int, va: UInt64) -> UInt64 {
        var table = tasks[slot].mm.pgd
        for level in 0..<3 {
            let shift = UInt64(39 - 9 * level)
            let slotAddress = table + ((va >> shift) & 511) * 8
            var descriptor = memory.load64(at: slotAddress)
            if descriptor & 3 != 3 {
                let fresh = allocatePage()
                recordKernelPage(slot, fresh)
                descriptor = fresh | 3
                memory.store64(descriptor, at: slotAddress)
            }
            table = descriptor & 0x0000_FFFF_FFFF_F000
        }
        return table + ((va >> 12) & 511) * 8
    }

    /// Removes `pa` from the task's kernel_pages (to fake a lost table).
    public func forgetKernelPage(slot: Int, _ pa: UInt64) {
        withUnsafeMutableBytes(of: &tasks[slot].mm.kernel_pages) { raw in
            let pages = raw.bindMemory(to: UInt64.self)
            if let i = pages.firstIndex(of: pa) { pages[i] = 0 }
        }
    }

    private func recordKernelPage(_ slot: Int, _ pa: UInt64) {
        withUnsafeMutableBytes(of: &tasks[slot].mm.kernel_pages) { raw in
            let pages = raw.bindMemory(to: UInt64.self)
            pages[pages.firstIndex(of: 0)!] = pa
        }
    }

    // MARK: globals

    /// Writes tasks, mm_current, mm_pool and mm_tick to memory.
    public func publish() {
        let bytes = tasks.withUnsafeBytes { Array($0) }
        memory.store(bytes, at: KernelSymbols.physical(symbols.tasks))
        let current = currentSlot.map { symbols.tasks + UInt64($0 * MemoryLayout<mm_task>.size) } ?? 0
        memory.store64(current, at: KernelSymbols.physical(symbols.current))
        var pool = mm_page_pool()
        pool.base_pa = poolBase
        pool.page_count = poolPages
        pool.free_pages = UInt64(freeList.count)
        pool.alloc_count = allocations
        pool.free_count = frees
        pool.free_list = freeList.first ?? 0
        memory.store(withUnsafeBytes(of: pool) { Array($0) }, at: KernelSymbols.physical(symbols.pool))
        memory.store64(tick, at: KernelSymbols.physical(symbols.tick))
        let slots = cpuCurrentSlots.isEmpty ? [currentSlot] : cpuCurrentSlots
        var entries = [mm_cpu](repeating: mm_cpu(), count: Int(MM_MAX_CPUS))
        for (index, slot) in slots.enumerated() where index < entries.count {
            entries[index].current = slot.map { symbols.tasks + UInt64($0 * MemoryLayout<mm_task>.size) } ?? 0
            entries[index].state = Int64(slot == nil ? MM_CPU_IDLE : MM_CPU_BUSY)
            entries[index].mpidr = UInt64(index)
        }
        memory.store64(UInt64(slots.count), at: KernelSymbols.physical(symbols.cpuCount!))
        memory.store(entries.withUnsafeBytes { Array($0) }, at: KernelSymbols.physical(symbols.cpus!))
    }

    /// Writes an `mm_layout` record (tests pass a wrong one to see it refused).
    public func writeLayout(_ layout: KernelLayout) {
        var record = mm_layout_record()
        record.magic = layout.magic
        record.version = layout.version
        record.sizeof_task = layout.sizeofTask
        record.sizeof_mm = layout.sizeofMM
        record.sizeof_user_page = layout.sizeofUserPage
        record.offsetof_task_mm = layout.offsetofTaskMM
        record.offsetof_task_state = layout.offsetofTaskState
        record.offsetof_task_pid = layout.offsetofTaskPID
        record.offsetof_mm_user_pages = layout.offsetofMMUserPages
        record.offsetof_mm_brk = layout.offsetofMMBrk
        record.nr_tasks = layout.taskCount
        record.max_page_count = layout.maxPageCount
        record.log_ring_size = layout.logRingSize
        record.sizeof_cpu = layout.sizeofCPU
        record.max_cpus = layout.maxCPUs
        memory.store(withUnsafeBytes(of: record) { Array($0) }, at: KernelSymbols.physical(symbols.layout))
    }

    /// Writes `text` through the log ring the way the kernel does (head counts every byte).
    public func writeLog(_ text: String) {
        let base = KernelSymbols.physical(symbols.log)
        let size = UInt64(MM_LOG_RING_SIZE)
        memory.store64(MM_LOG_MAGIC, at: base + UInt64(MemoryLayout<mm_log_ring>.offset(of: \.magic)!))
        memory.store64(size, at: base + UInt64(MemoryLayout<mm_log_ring>.offset(of: \.size)!))
        var buffer = [UInt8](repeating: 0, count: Int(size))
        let bytes = Array(text.utf8)
        for (i, byte) in bytes.enumerated() { buffer[i % Int(size)] = byte }
        memory.store(buffer, at: base + UInt64(mm_abi_offsetof_log_buf()))
        memory.store64(UInt64(bytes.count), at: base + UInt64(MemoryLayout<mm_log_ring>.offset(of: \.head)!))
    }

    /// The kernel's translation registers: 48-bit VA, 4K granules, the kernel's MAIR, TTBR0 = a task's pgd,
    /// TTBR1 = `kernelRoot` (empty until `mapKernelPage`).
    public func registers(ttbr0Slot slot: Int? = nil) -> TranslationRegisters {
        TranslationRegisters(sctlr: 0x30D0_1805, tcr: 0x62B5103510, mair: 0x4400FF,
                             ttbr0: slot.map { tasks[$0].mm.pgd } ?? 0, ttbr1: SyntheticKernel.kernelRoot)
    }

    // MARK: kernel half

    /// PA of the kernel half's level-0 table. Its tables come from the RAM below
    /// the image (not from the pool, which the checks account page by page).
    public static let kernelRoot: UInt64 = 0x4000_0000
    private var nextKernelTable: UInt64 = SyntheticKernel.kernelRoot + MM_PAGE_SIZE

    /// Writes a level-3 descriptor `pa | leaf` for kernel VA `va` in the TTBR1 tables (creating tables).
    public func mapKernelPage(va: UInt64, pa: UInt64, leaf: UInt64) {
        var table = SyntheticKernel.kernelRoot
        for level in 0..<3 {
            let slotAddress = table + ((va >> UInt64(39 - 9 * level)) & 511) * 8
            var descriptor = memory.load64(at: slotAddress)
            if descriptor & 3 != 3 {
                descriptor = nextKernelTable | 3
                nextKernelTable += MM_PAGE_SIZE
                memory.store64(descriptor, at: slotAddress)
            }
            table = descriptor & 0x0000_FFFF_FFFF_F000
        }
        memory.store64(pa | leaf, at: table + ((va >> 12) & 511) * 8)
    }
}
