import Inspect

/// `KernelViews` backed by Inspect: it gathers the inputs (registers, ELF
/// symbols, a cached memory source), calls Inspect's walker, inspector and
/// checker, and renders their values. No decoding happens here.
///
/// Every view reads tables and kernel structures physically, so each one runs
/// inside ONE physical-memory scope of Inspect's `GdbMemorySource`: the mode
/// switch (three round trips) is paid once per command, not once per batch,
/// and `vtop` costs one round trip per level.
public final class InspectKernelViews: KernelViews {
    private unowned let session: Session
    private var memory: CachingMemorySource?
    /// The target memory `memory` caches (a re-attach brings a new one).
    private weak var cachedTargetMemory: WritableMemorySource?
    /// The device-memory guard for virtual reads; its tables are valid for one stop.
    private var guardedReader: GuardedMemoryReader?
    private var cachedContext: TranslationContext?
    private var cachedInspector: KernelInspector?
    /// Page tables as they were at the previous stop (captured before each resume).
    private var previousStop: AddressSpaceSnapshot?
    private var named: [String: AddressSpaceSnapshot] = [:]

    public init(session: Session) { self.session = session }

    public func invalidate() {
        memory?.invalidate()
        guardedReader = nil
        cachedContext = nil
        cachedInspector = nil
    }

    // MARK: inputs

    /// The target's memory, uncached (virtual reads for commands).
    private func targetMemory() throws(CommandError) -> WritableMemorySource {
        try session.requireTarget(for: "reading memory").memory
    }

    /// The target's memory behind a per-stop cache (tables, kernel structures).
    private func memorySource() throws(CommandError) -> CachingMemorySource {
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
    fileprivate func physically<T>(_ body: () throws(CommandError) -> T) throws(CommandError) -> T {
        guard session.state != .running, let scoped = try? targetMemory() as? PhysicalScopedMemorySource else {
            return try body()
        }
        return try scoped.withPhysicalMode(body)
    }

    public func currentTaskID() throws(CommandError) -> Int? {
        guard session.symbols is ELFSymbolTable else { return nil }
        let snapshot = try physically { () throws(CommandError) in try kernelSnapshot() }
        return snapshot.currentSlot.map { Int(snapshot.slots[$0].pid) }
    }

    private func context() throws(CommandError) -> TranslationContext {
        if let cachedContext { return cachedContext }
        let target = try session.requireStoppedTarget(for: "page tables")
        let context = TranslationContext(registers: try TranslationRegisters.read { names throws(CommandError) in
            try target.readRegisters(names)
        })
        cachedContext = context
        return context
    }

    private func inspector() throws(CommandError) -> KernelInspector {
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

    fileprivate func kernelSnapshot() throws(CommandError) -> KernelSnapshot {
        let inspector = try inspector()
        return try inspect { () throws(KernelInspectionError) in try inspector.snapshot() }
    }

    private func task(_ pid: Int) throws(CommandError) -> TaskInfo {
        guard let task = try kernelSnapshot().tasks.first(where: { $0.pid == Int64(pid) }) else {
            throw .failed("no task with pid \(pid) (see `tasks`)")
        }
        return task
    }

    /// A task whose own tables a view walks. A task with no tables (idle's pgd
    /// is 0) is a one-line error: walking "its" tables would read PA 0 as a table.
    private func taskWithAddressSpace(_ pid: Int) throws(CommandError) -> TaskInfo {
        let task = try task(pid)
        guard task.mm.pgd != 0 else { throw .failed("task \(pid) (\(task.name)) has no address space") }
        return task
    }

    private func inspect<T>(_ body: () throws(KernelInspectionError) -> T) throws(CommandError) -> T {
        do throws(KernelInspectionError) { return try body() } catch { throw .target(error.description) }
    }

    private func walk<T>(_ body: () throws(TranslationError) -> T) throws(CommandError) -> T {
        do throws(TranslationError) { return try body() } catch { throw .target(error.description) }
    }

    // MARK: KernelViews

    public func taskIDs() throws(CommandError) -> [Int] {
        try physically { () throws(CommandError) -> [Int] in
            try kernelSnapshot().tasks.map { Int($0.pid) }
        }
    }

    public func tasks() throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let snapshot = try kernelSnapshot()
            var table = TextTable(columns: [.init("PID", .right), .init("PPID", .right), .init("STATE"), .init("NAME"),
                                            .init("PGD"), .init("KPAGES", .right), .init("UPAGES", .right), .init("BRK"),
                                            .init("")])
            var rows: [JSONValue] = []
            for task in snapshot.tasks {
                table.rows.append([String(task.pid), String(task.parentPID), task.state.rawValue, task.name,
                                   Hex.format(task.mm.pgd), String(task.mm.kernelPages.count), String(task.mm.userPages.count),
                                   Hex.format(task.mm.brk), task.isCurrent ? "current" : ""])
                rows.append(KernelJSON.taskSummary(task))
            }
            let pool = snapshot.pool
            let footer = "pool: \(pool.freePages)/\(pool.pageCount) pages free, \(pool.allocations) allocations, \(pool.frees) frees, \(pool.failures) failures; tick \(snapshot.tick)"
            return CommandOutput(blocks: [.table(table), .text(footer)],
                                 json: .object([("tasks", .array(rows)), ("pool", KernelJSON.pool(pool)),
                                                ("tick", .uint(snapshot.tick))]))
        }
    }

    public func task(pid: Int) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let task = try task(pid)
            let fields: [(String, String)] = [
                ("pid", String(task.pid)), ("name", task.name), ("state", task.state.rawValue + (task.isCurrent ? " (current)" : "")),
                ("parent", String(task.parentPID)), ("exit code", String(task.exitCode)), ("slot", String(task.slot)),
                ("task struct", Hex.format(task.address)), ("kernel stack", Hex.format(task.kernelStack)),
                ("context pc", Hex.format(task.context.pc) + (session.symbols?.describe(task.context.pc).map { " <\($0)>" } ?? "")),
                ("context sp", Hex.format(task.context.sp)), ("pgd", Hex.format(task.mm.pgd)), ("brk", Hex.format(task.mm.brk)),
                ("kernel pages", task.mm.kernelPages.map(Hex.format).joined(separator: " ")),
            ]
            var pages = TextTable(columns: [.init("SLOT", .right), .init("VA"), .init("PA"), .init("ATTRIBUTES")])
            for page in task.mm.userPages {
                pages.rows.append([String(page.slot), Hex.format(page.virtualAddress), Hex.format(page.physicalAddress),
                                   page.attributes.description])
            }
            return CommandOutput(blocks: [.fields(fields), .text("user pages:"), .table(pages)], json: KernelJSON.task(task))
        }
    }

    public func translate(_ address: UInt64, pid: Int?) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let walker: TranslationTableWalker
            if let pid {
                let task = try taskWithAddressSpace(pid)
                walker = try inspector().walker(for: task)
            } else {
                walker = TranslationTableWalker(memory: try memorySource(), context: try context())
            }
            let translation = try walk { () throws(TranslationError) in try walker.translate(address) }
            var table = TextTable(columns: [.init("LEVEL", .right), .init("TABLE"), .init("INDEX", .right),
                                            .init("DESCRIPTOR"), .init("KIND"), .init("DETAIL")])
            for step in translation.steps {
                let d = step.descriptor
                let detail = d.nextTableAddress.map { "next table \(Hex.format($0))" }
                    ?? d.outputAddress.map { "output \(Hex.format($0)) size \(Hex.format(d.mappedSize ?? 0))" }
                    ?? d.problem ?? ""
                table.rows.append([String(step.level), Hex.format(step.tableAddress), String(step.index),
                                   Hex.padded(d.raw), d.kind.rawValue, detail])
            }
            var summary = "\(Hex.format(address))"
            if let pa = translation.physicalAddress, translation.fault == nil {
                summary += " -> \(Hex.format(pa))  \(translation.attributes.map { $0.description } ?? "")"
            } else if let fault = translation.fault {
                summary += " not mapped: \(fault.description)"
            } else if !translation.mmuEnabled {
                summary += " (MMU off: identity)"
            }
            return CommandOutput(blocks: [.text(summary), .table(table)], json: KernelJSON.translation(translation, pid: pid))
        }
    }

    public func pageTables(_ space: AddressSpaceSelector, filters: PageTableFilters) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let dump = try dump(space)
            let filter = DumpFilter(privilege: filters.userOnly ? .user : filters.kernelOnly ? .kernel : nil,
                                    writable: filters.writable ? true : nil, executable: filters.executable ? true : nil,
                                    virtualFirst: filters.from, virtualLast: filters.to.map { $0 &- 1 })
            let runs = dump.runs(matching: filter)
            var table = TextTable(columns: [.init("VA START"), .init("VA END"), .init("PA START"), .init("SIZE", .right),
                                            .init("LEAF"), .init("ATTRIBUTES")])
            for run in runs {
                table.rows.append([Hex.padded(run.virtualStart), Hex.padded(run.virtualLast), Hex.format(run.physicalStart),
                                   Hex.format(run.size), "L\(run.leafLevel) x\(run.leafCount)", run.attributes.description])
            }
            let s = dump.statistics
            var blocks: [OutputBlock] = [.table(table),
                .text("tables per level \(s.tablesPerLevel), blocks per level \(s.blocksPerLevel), \(s.pages) pages, \(s.tableBytes) bytes of tables, \(runs.count) of \(s.runs) runs shown")]
            blocks += dump.problems.map { .text("problem: \($0.description)") }
            return CommandOutput(blocks: blocks, json: KernelJSON.dump(dump, runs: runs, space: space))
        }
    }

    public func snapshot(name: String) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let snapshot = try captureSnapshot()
            named[name] = snapshot
            let count = snapshot.spaces.values.reduce(0) { $0 + $1.runs.count }
            return .message("snapshot \(name): \(snapshot.spaces.count) address spaces, \(count) runs",
                            json: .object([("name", .string(name)), ("addressSpaces", .array(snapshot.spaces.keys.sorted().map(JSONValue.string))),
                                           ("runs", .int(Int64(count)))]))
        }
    }

    public func diff(since name: String?) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let old: AddressSpaceSnapshot
            if let name {
                guard let saved = named[name] else {
                    throw .failed("no snapshot named \"\(CommandError.clip(name))\" (known: \(named.keys.sorted().joined(separator: ", ")))")
                }
                old = saved
            } else {
                guard let saved = previousStop else {
                    throw .failed("no previous stop recorded yet: `pt diff` compares with the tables before the last continue/step")
                }
                old = saved
            }
            let new = try captureSnapshot()
            var table = TextTable(columns: [.init("SPACE"), .init("CHANGE")])
            var json: [JSONValue] = []
            for key in Set(old.spaces.keys).union(new.spaces.keys).sorted() {
                guard let before = old.spaces[key], let after = new.spaces[key] else {
                    table.rows.append([key, old.spaces[key] == nil ? "address space appeared" : "address space disappeared"])
                    json.append(.object([("space", .string(key)), ("kind", .string(old.spaces[key] == nil ? "appeared" : "disappeared"))]))
                    continue
                }
                for change in after.changes(since: before) {
                    table.rows.append([key, change.description])
                    json.append(KernelJSON.change(change, space: key))
                }
            }
            let label = name.map { "snapshot \($0)" } ?? "the previous stop"
            return CommandOutput(blocks: [.text("changes since \(label):"), .table(table)],
                                 json: .object([("since", .string(name ?? "previous-stop")), ("changes", .array(json))]))
        }
    }

    public func check() throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let inspector = try inspector()
            let report = try inspect { () throws(KernelInspectionError) in try ConsistencyChecker(inspector: inspector).run() }
            var lines = report.findings.map(\.description)
            lines.append("\(report.findings.count) findings (\(report.tasksChecked) tasks, \(report.userPagesChecked) user pages, \(report.tablesChecked) tables, \(report.freeListWalked) free pages checked)")
            return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))], json: KernelJSON.check(report))
        }
    }

    public func log(last: Int?) throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let inspector = try inspector()
            var lines = try inspect { () throws(KernelInspectionError) in try inspector.log() }.lines
            if let last { lines = Array(lines.suffix(last)) }
            return CommandOutput(blocks: [.text(lines.joined(separator: "\n"))],
                                 json: .object([("lines", .array(lines.map(JSONValue.string)))]))
        }
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
        do throws(GuardedReadError) { return try reader.read(virtual: address, length: count) } catch {
            throw .target(error.description)
        }
    }

    public func targetWillResume() {
        // What `pt diff` without a name compares with; a failure (MMU off) just means no baseline.
        previousStop = try? physically { () throws(CommandError) in try captureSnapshot() }
    }

    // MARK: dumps

    private func dump(_ space: AddressSpaceSelector) throws(CommandError) -> AddressSpaceDump {
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
    private func captureSnapshot() throws(CommandError) -> AddressSpaceSnapshot {
        var spaces = ["cpu": try dump(.current)]
        if session.symbols is ELFSymbolTable, let tasks = try? kernelSnapshot().tasks {
            for task in tasks where task.mm.pgd != 0 {
                if let dump = try? dump(.task(Int(task.pid))) { spaces["pid \(task.pid)"] = dump }
            }
        }
        return AddressSpaceSnapshot(spaces: spaces)
    }
}

/// Page tables captured at one moment, by address space ("cpu", "pid 3").
struct AddressSpaceSnapshot {
    var spaces: [String: AddressSpaceDump]
}

/// A failure entering or leaving physical-memory mode is the target's failure.
extension CommandError: MemoryFailureCarrying {
    public static func memory(_ error: MemoryError) -> CommandError { .target(error.description) }
}
