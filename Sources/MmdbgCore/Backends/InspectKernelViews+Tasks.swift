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
}
