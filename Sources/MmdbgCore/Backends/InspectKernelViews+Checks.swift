import Inspect

/// `check` and `log`: consistency findings and the kernel's log ring.
extension InspectKernelViews {
    public func check() throws(CommandError) -> CommandOutput {
        try physically { () throws(CommandError) -> CommandOutput in
            let inspector = try inspector()
            // SMP: each CPU's TTBR0 for the freed-table and ASID checks (only on a kernel that started several).
            var registers: [CPURegisters] = []
            if try kernelSnapshot().cpus.count > 1 {
                registers = try registersOfEveryCPU(["TTBR0_EL1"]).map { CPURegisters(cpu: $0.cpu, ttbr0: $0.values[0]) }
            }
            let report = try inspect { () throws(KernelInspectionError) in
                try ConsistencyChecker(inspector: inspector, cpuRegisters: registers).run()
            }
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
}
