import GdbRemote
import KernelABI

/// The invariants of issue 6, checked across every task at one stop:
/// - every `user_pages` entry has a PTE with the recorded physical page and flags;
/// - every user PTE is accounted in `user_pages`;
/// - no page is both mapped and free (free list walked from its head, where
///   recent frees sit, plus a poison probe of every mapped page);
/// - no mapping is writable and executable;
/// - `kernel_pages` holds every table the walk finds;
/// - the kernel half (TTBR1) has no writable-and-executable run and no run
///   EL0 may execute, as Linux's CONFIG_DEBUG_WX checks at boot;
/// - SMP (issue 19): no task is current on two CPUs (`mm_cpus`), no CPU's
///   TTBR0 points at a freed page, no ASID names two address spaces at once
///   (the last two from `cpuRegisters`, read per vCPU by the caller).
public struct ConsistencyChecker {
    /// Where tasks, pool and tables are read.
    public let inspector: KernelInspector
    /// Most free-list links followed; the result says whether the whole list
    /// was seen. Sequential stretches are fetched 512 links per round trip
    /// (a fresh 32,000-page pool takes well under a second over the stub).
    public var freeListLimit: Int
    /// Each CPU's TTBR0 (empty: the per-CPU register checks are skipped).
    public var cpuRegisters: [CPURegisters]

    /// Checks what `inspector` reads, following at most `freeListLimit` free-list links.
    public init(inspector: KernelInspector, freeListLimit: Int = 1 << 20, cpuRegisters: [CPURegisters] = []) {
        self.inspector = inspector
        self.freeListLimit = freeListLimit
        self.cpuRegisters = cpuRegisters
    }

    /// What `run()` found.
    public struct Report: Codable, Sendable, Hashable {
        /// Every broken invariant, one line each.
        public var findings: [ConsistencyFinding]
        /// Tasks checked (pid order of the table).
        public var tasksChecked: Int
        /// `user_pages` entries compared with their PTE.
        public var userPagesChecked: Int
        /// Tables the walks found (each looked up in `kernel_pages`).
        public var tablesChecked: Int
        /// Free-list entries followed and whether the list ended within the limit.
        public var freeListWalked: Int
        /// The list ended (0 link) within the limit, without a cycle or a link out of the pool.
        public var freeListComplete: Bool
        /// Runs of the kernel half (TTBR1) checked for W^X (0 when its walks are disabled or the MMU is off).
        public var kernelRunsChecked: Int = 0
    }

    /// Reads everything once (tables of all tasks in one walk) and checks every invariant.
    public func run() throws(KernelInspectionError) -> Report {
        let snapshot = try inspector.snapshot()
        // Before the kernel fills its task table and page pool (e.g. at `_start_phys`) every
        // invariant holds vacuously: "0 findings" would read as a clean kernel.
        var missing: [String] = []
        if snapshot.tasks.isEmpty { missing.append("the task table is empty") }
        if snapshot.pool.pageCount == 0 { missing.append("the page pool has no pages") }
        if !missing.isEmpty {
            throw .notInitialised(missing.joined(separator: " and ") + " (stopped before the kernel set them up)")
        }
        var findings: [ConsistencyFinding] = []
        var mapped: [(pa: UInt64, task: TaskInfo, va: UInt64?, what: String)] = []
        var userPagesChecked = 0, tablesChecked = 0, tasksChecked = 0

        let checked = snapshot.tasks.filter { $0.mm.pgd != 0 }
        // Every task's tables in one walk; the per-page translations below then hit the cache
        // (when the inspector's memory is a CachingMemorySource).
        // The kernel half joins the same walk (one round trip per level for all).
        let kernelWalker = TranslationTableWalker(memory: inspector.memory, context: inspector.context)
        var dumps: [AddressSpaceDump]
        do {
            dumps = try TranslationTableWalker.dump(checked.map { (inspector.walker(for: $0), [TranslationHalf.lower]) }
                                                    + [(kernelWalker, [TranslationHalf.upper])])
        } catch {
            throw .translation(error)
        }
        let kernelDump = dumps.removeLast()
        for (task, dump) in zip(checked, dumps) {
            tasksChecked += 1
            func finding(_ kind: ConsistencyFinding.Kind, va: UInt64?, pa: UInt64? = nil, _ detail: String) {
                findings.append(ConsistencyFinding(kind: kind, pid: task.pid, taskName: task.name, virtualAddress: va,
                                                   physicalAddress: pa, detail: detail))
            }
            let translations: [Translation]
            do { translations = try inspector.walker(for: task).translate(task.mm.userPages.map(\.virtualAddress)) } catch {
                throw .translation(error)
            }

            // Recorded pages → PTEs.
            var recorded: [UInt64: UserPageRecord] = [:]
            for (record, translation) in zip(task.mm.userPages, translations) {
                userPagesChecked += 1
                recorded[record.virtualAddress] = record
                guard let leaf = translation.steps.last?.descriptor, leaf.kind == .page || leaf.kind == .block else {
                    finding(.missingPTE, va: record.virtualAddress,
                            "user_pages[\(record.slot)] records \(Hex.format(record.physicalAddress)) but no PTE maps the VA"
                            + (translation.fault.map { " (\($0))" } ?? ""))
                    continue
                }
                if leaf.kind == .block || leaf.outputAddress != record.physicalAddress {
                    finding(.wrongPhysicalPage, va: record.virtualAddress,
                            "PTE maps \(Hex.format(leaf.outputAddress ?? 0)), user_pages[\(record.slot)] records \(Hex.format(record.physicalAddress))")
                } else if leaf.raw != record.physicalAddress | record.flags {
                    finding(.wrongFlags, va: record.virtualAddress,
                            "PTE is \(Hex.format(leaf.raw)), user_pages[\(record.slot)] records \(Hex.format(record.physicalAddress | record.flags)) (flags differ by \(Hex.format(leaf.raw ^ (record.physicalAddress | record.flags))))")
                }
            }

            // PTEs → recorded pages, and W^X.
            for run in dump.runs {
                let a = run.attributes
                if (a.user.write && a.user.execute) || (a.kernel.write && a.kernel.execute) {
                    finding(.writableAndExecutable, va: run.virtualStart,
                            "\(Hex.format(run.size)) bytes are writable and executable (\(a))")
                }
                var va = run.virtualStart
                for i in 0..<run.leafCount {
                    let pa = run.physicalStart &+ UInt64(i) &* run.leafSize
                    mapped.append((pa, task, va, "user page"))
                    if recorded[va] == nil {
                        finding(.unrecordedPTE, va: va, "PTE maps \(Hex.format(pa)) but no user_pages entry records the VA")
                    }
                    va &+= run.leafSize
                }
            }

            // Tables → kernel_pages.
            let kernelPages = Set(task.mm.kernelPages)
            for table in dump.tables {
                tablesChecked += 1
                mapped.append((table.address, task, nil, "L\(table.level) table"))
                if !kernelPages.contains(table.address) {
                    finding(.unrecordedTable, va: table.virtualBase,
                            "L\(table.level) table \(Hex.format(table.address)) is not in kernel_pages")
                }
            }
            for problem in dump.problems {
                finding(.malformedDescriptor, va: problem.virtualAddress, problem.description)
            }
        }

        // The kernel half: W^X and no EL0 execution (Linux: ptdump_check_wx).
        func kernelFinding(_ kind: ConsistencyFinding.Kind, va: UInt64?, _ detail: String) {
            findings.append(ConsistencyFinding(kind: kind, pid: nil, taskName: nil, virtualAddress: va,
                                               physicalAddress: nil, detail: detail))
        }
        for run in kernelDump.runs {
            let a = run.attributes
            if a.isWritable && a.isExecutable {
                kernelFinding(.kernelWritableAndExecutable, va: run.virtualStart,
                              "kernel mapping of \(Hex.format(run.size)) bytes at \(Hex.format(run.physicalStart)) is writable and executable (\(a))")
            }
            if a.user.execute {
                kernelFinding(.kernelUserExecutable, va: run.virtualStart,
                              "kernel mapping of \(Hex.format(run.size)) bytes at \(Hex.format(run.physicalStart)) is executable at EL0 (\(a))")
            }
        }
        for problem in kernelDump.problems {
            kernelFinding(.malformedDescriptor, va: problem.virtualAddress, problem.description)
        }

        // One physical page mapped twice.
        var owners: [UInt64: (TaskInfo, UInt64?, String)] = [:]
        for entry in mapped {
            if let first = owners[entry.pa] {
                findings.append(ConsistencyFinding(
                    kind: .sharedPhysicalPage, pid: entry.task.pid, taskName: entry.task.name, virtualAddress: entry.va,
                    physicalAddress: entry.pa,
                    detail: "\(entry.what) \(Hex.format(entry.pa)) is also mapped as \(first.2) of \(first.0.label)" + (first.1.map { " at \(Hex.format($0))" } ?? "")))
            } else {
                owners[entry.pa] = (entry.task, entry.va, entry.what)
            }
        }

        // Mapped and free.
        let pool = snapshot.pool
        func poolFinding(_ detail: String) {
            findings.append(ConsistencyFinding(kind: .poolCounters, pid: nil, taskName: nil, virtualAddress: nil,
                                               physicalAddress: nil, detail: detail))
        }
        let (poolBytes, sizeOverflow) = pool.pageCount.multipliedReportingOverflow(by: MM_PAGE_SIZE)
        if sizeOverflow || pool.basePhysicalAddress.addingReportingOverflow(poolBytes).overflow {
            poolFinding("mm_pool base \(Hex.format(pool.basePhysicalAddress)) + \(pool.pageCount) pages runs past the top of the address space")
        }
        let (free, complete, unreadableLink) = try walkFreeList(pool)
        if let unreadableLink { poolFinding(unreadableLink) }
        for entry in mapped where free.contains(entry.pa) {
            findings.append(ConsistencyFinding(kind: .mappedAndFree, pid: entry.task.pid, taskName: entry.task.name,
                                               virtualAddress: entry.va, physicalAddress: entry.pa,
                                               detail: "\(entry.what) \(Hex.format(entry.pa)) is mapped and on the free list"))
        }
        findings += smpFindings(snapshot, free: free)
        if complete && UInt64(free.count) != pool.freePages {
            poolFinding("free list holds \(free.count) pages, mm_pool.free_pages says \(pool.freePages)")
        }
        let suspects = mapped.filter { !free.contains($0.pa) && snapshot.pool.contains($0.pa) }
        // A page a hostile PTE names may not be readable: it cannot hold the poison then.
        let heads: [Result<[UInt8], MemoryError>]
        do { heads = try inspector.memory.readEach(suspects.map { MemoryRequest(.physical, address: $0.pa, length: 16) }) } catch {
            throw .memory(error)
        }
        for (entry, head) in zip(suspects, heads) {
            guard case .success(let bytes) = head, bytes.count == 16 else { continue }
            let link = bytes.littleEndianUInt64(at: 8)
            if bytes.littleEndianUInt64(at: 0) == MM_PAGE_POISON && (link == 0 || snapshot.pool.contains(link)) {
                findings.append(ConsistencyFinding(kind: .poisonedMappedPage, pid: entry.task.pid, taskName: entry.task.name,
                                                   virtualAddress: entry.va, physicalAddress: entry.pa,
                                                   detail: "\(entry.what) \(Hex.format(entry.pa)) holds the free-page poison (freed while mapped?)"))
            }
        }
        return Report(findings: findings, tasksChecked: tasksChecked, userPagesChecked: userPagesChecked,
                      tablesChecked: tablesChecked, freeListWalked: free.count, freeListComplete: complete,
                      kernelRunsChecked: kernelDump.runs.count)
    }

    /// The SMP invariants: one CPU per running task, live TTBR0 tables, one address space per ASID.
    func smpFindings(_ snapshot: KernelSnapshot, free: Set<UInt64>) -> [ConsistencyFinding] {
        var findings: [ConsistencyFinding] = []
        func task(_ slot: Int?) -> TaskInfo? { slot.flatMap { $0 < snapshot.slots.count ? snapshot.slots[$0] : nil } }
        var firstCPU: [Int: Int] = [:]
        for cpu in snapshot.cpus where cpu.state != .offline {
            guard let slot = cpu.currentSlot else { continue }
            if let other = firstCPU[slot] {
                let t = task(slot)
                findings.append(ConsistencyFinding(kind: .taskOnTwoCPUs, pid: t?.pid, taskName: t?.name, virtualAddress: nil,
                                                   physicalAddress: nil,
                                                   detail: "slot \(slot) is current on cpu \(other) and cpu \(cpu.index)"))
            } else {
                firstCPU[slot] = cpu.index
            }
        }
        func current(of index: Int) -> TaskInfo? {
            task(snapshot.cpus.first { $0.index == index }?.currentSlot)
        }
        var byASID: [UInt64: CPURegisters] = [:]
        for registers in cpuRegisters {
            let t = current(of: registers.cpu)
            if free.contains(registers.tableAddress) {
                findings.append(ConsistencyFinding(kind: .ttbr0OnFreedPage, pid: t?.pid, taskName: t?.name, virtualAddress: nil,
                                                   physicalAddress: registers.tableAddress,
                                                   detail: "cpu \(registers.cpu) TTBR0 \(Hex.format(registers.ttbr0)) points at \(Hex.format(registers.tableAddress)), a page on the free list"))
            }
            if let other = byASID[registers.asid], other.tableAddress != registers.tableAddress {
                findings.append(ConsistencyFinding(kind: .asidShared, pid: t?.pid, taskName: t?.name, virtualAddress: nil,
                                                   physicalAddress: registers.tableAddress,
                                                   detail: "ASID \(registers.asid) names table \(Hex.format(other.tableAddress)) on cpu \(other.cpu) and \(Hex.format(registers.tableAddress)) on cpu \(registers.cpu)"))
            } else if byASID[registers.asid] == nil {
                byASID[registers.asid] = registers
            }
        }
        return findings
    }

    /// The pool's counters and the pages on its free list (`complete`: the list ended within
    /// the limit, without a cycle or a link out of the pool): what tells a free page from an
    /// allocated one.
    public func freePages() throws(KernelInspectionError) -> (pool: PagePoolCounters, free: Set<UInt64>, complete: Bool) {
        let pool = try inspector.snapshot().pool
        let (free, complete, unreadable) = try walkFreeList(pool)
        return (pool, free, complete && unreadable == nil)
    }

    /// Follows the free list (link in word 1 of each free page). Links are
    /// fetched speculatively for the next pages in address order, since a
    /// fresh pool is chained in ascending order: a sequential stretch of 64
    /// pages costs one round trip, a scattered link one each.
    /// Also returns why the walk stopped early when a link could not be read.
    private func walkFreeList(_ pool: PagePoolCounters) throws(KernelInspectionError) -> (Set<UInt64>, Bool, String?) {
        var free = Set<UInt64>()
        var next = pool.freeListHead
        let linkOffset: UInt64 = 8
        var lookahead = 64
        while next != 0 {
            guard free.count < freeListLimit else { return (free, false, nil) }
            guard pool.contains(next) else { return (free, false, nil) }   // a corrupt link: stop, the counters check reports it
            // Guest values: a hostile pool base can put the lookahead past the top of the address space.
            let candidates = (0..<lookahead).compactMap { i -> UInt64? in
                let (page, overflow) = next.addingReportingOverflow(UInt64(i) * MM_PAGE_SIZE)
                return !overflow && pool.contains(page) && page <= UInt64.max - linkOffset - 7 ? page : nil
            }
            let links: [Result<[UInt8], MemoryError>]
            do {
                links = try inspector.memory.readEach(candidates.map { MemoryRequest(.physical, address: $0 + linkOffset, length: 8) })
            } catch {
                throw .memory(error)
            }
            var linkOf: [UInt64: UInt64] = [:]
            for (page, link) in zip(candidates, links) {
                if case .success(let bytes) = link, bytes.count == 8 { linkOf[page] = bytes.littleEndianUInt64(at: 0) }
            }
            guard linkOf[next] != nil else {
                return (free, false, "free-list page \(Hex.format(next)) cannot be read: the walk stopped after \(free.count) pages")
            }
            var followed = 0
            while let link = linkOf[next], free.count < freeListLimit {
                guard free.insert(next).inserted else { return (free, false, nil) }   // a cycle
                followed += 1
                next = link
                if next == 0 { break }
            }
            // Scattered links (recent frees) waste the lookahead: shrink it; sequential ones: grow it.
            lookahead = followed * 2 >= lookahead ? min(lookahead * 2, 512) : max(1, followed * 2)
        }
        return (free, true, nil)
    }
}
