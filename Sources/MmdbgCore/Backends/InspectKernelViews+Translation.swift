import Inspect

/// `vtop` and `pt`: one translation with every level, and tables as runs.
extension InspectKernelViews {
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
}
