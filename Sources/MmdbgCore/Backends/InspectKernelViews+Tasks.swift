import Inspect

/// `tasks` and `task PID`: the kernel's task table.
extension InspectKernelViews {
    public func taskIDs() throws(CommandError) -> [Int] {
        try physically { () throws(CommandError) -> [Int] in
            try kernelSnapshot().tasks.map { Int($0.pid) }
        }
    }

    public func tasks() throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let snapshot = try kernelSnapshot()
            // SMP: a CPU column (the CPU a task runs on) once the kernel started several.
            let smp = snapshot.cpus.count > 1
            var columns: [TextTable.Column] = [.init("PID", .right), .init("PPID", .right), .init("STATE"), .init("NAME"),
                                               .init("PGD"), .init("KPAGES", .right), .init("UPAGES", .right), .init("BRK")]
            if smp { columns.append(.init("CPU", .right)) }
            var table = TextTable(columns: columns + [.init("")])
            var rows: [JSONValue] = []
            for task in snapshot.tasks {
                let cpu = snapshot.cpus.first { $0.currentSlot == task.slot && $0.state != .offline }?.index
                var row = [String(task.pid), String(task.parentPID), task.state.rawValue, task.name,
                           Hex.format(task.mm.pgd), String(task.mm.kernelPages.count), String(task.mm.userPages.count),
                           Hex.format(task.mm.brk)]
                if smp { row.append(cpu.map(String.init) ?? "-") }
                table.rows.append(row + [task.isCurrent ? "current" : ""])
                var json = KernelJSON.taskSummary(task)
                if smp, case .object(var fields) = json {
                    fields.append(("cpu", cpu.map { .int(Int64($0)) } ?? .null))
                    json = .object(fields)
                }
                rows.append(json)
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
}
