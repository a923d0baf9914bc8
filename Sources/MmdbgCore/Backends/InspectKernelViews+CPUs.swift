import Inspect

/// `cpus`: each vCPU as the stub and the kernel (`mm_cpus[]`) see it; the
/// per-CPU registers the SMP checks need.
extension InspectKernelViews {
    /// The registers `names` of every CPU (0-based index, values in order), read by
    /// selecting each CPU's stub thread in turn; the session's CPU is selected again after.
    func registersOfEveryCPU(_ names: [String]) throws(CommandError) -> [(cpu: Int, values: [UInt64])] {
        let target = try session.requireStoppedTarget(for: "cpus")
        let numbers = try target.cpuNumbers()
        let home = session.selectedCPU.map { $0 + 1 } ?? target.lastStopCPU ?? numbers.first ?? 1
        var result: [(cpu: Int, values: [UInt64])] = []
        var failure: CommandError?
        for number in numbers {
            do throws(CommandError) {
                try target.selectCPU(number)
                result.append((number - 1, try target.readRegisters(names)))
            } catch {
                failure = error
                break
            }
        }
        try? target.selectCPU(home)
        if let failure { throw failure }
        return result
    }

    public func cpus() throws(CommandError) -> CommandOutput {
        let names = ["pc", "cpsr", "TTBR0_EL1", "TTBR1_EL1"]
        let registers = try registersOfEveryCPU(names)
        let snapshot: KernelSnapshot? = session.symbols is ELFSymbolTable
            ? try physically { () throws(CommandError) in try kernelSnapshot() } : nil
        var table = TextTable(columns: [.init(""), .init("CPU", .right), .init("EL"), .init("PC"), .init("WHERE"),
                                        .init("TASK"), .init("STATE"), .init("TTBR0"), .init("ASID", .right),
                                        .init("TTBR1"), .init("IRQ"), .init("TICKS", .right)])
        var rows: [JSONValue] = []
        for (cpu, values) in registers {
            let (pc, cpsr, ttbr0, ttbr1) = (values[0], values[1], values[2], values[3])
            let el = Int((cpsr >> 2) & 3)
            let irqMasked = cpsr & (1 << 7) != 0
            let kernelCPU = snapshot?.cpus.first { $0.index == cpu }
            let task = kernelCPU?.currentSlot.flatMap { slot in snapshot?.slots[slot] }
            let taskText = task.map { "\($0.pid) \($0.name)" } ?? "-"
            let selected = cpu == (session.selectedCPU ?? (session.target?.lastStopCPU ?? 1) - 1)
            let registers = CPURegisters(cpu: cpu, ttbr0: ttbr0)
            table.rows.append([selected ? "*" : "", String(cpu), "EL\(el)", Hex.format(pc), session.symbols?.describe(pc) ?? "",
                               taskText, kernelCPU?.state.rawValue ?? "-", Hex.format(registers.tableAddress),
                               String(registers.asid), Hex.format(ttbr1), irqMasked ? "masked" : "on",
                               kernelCPU.map { String($0.ticks) } ?? "-"])
            rows.append(.object([
                ("cpu", .int(Int64(cpu))), ("selected", .bool(selected)), ("el", .int(Int64(el))), ("pc", .hex(pc)),
                ("location", session.symbols?.describe(pc).map(JSONValue.string) ?? .null),
                ("task", task.map { .int($0.pid) } ?? .null), ("taskName", task.map { .string($0.name) } ?? .null),
                ("state", kernelCPU.map { .string($0.state.rawValue) } ?? .null),
                ("ttbr0", .hex(ttbr0)), ("asid", .int(Int64(registers.asid))), ("ttbr1", .hex(ttbr1)),
                ("irqMasked", .bool(irqMasked)), ("ticks", kernelCPU.map { .uint($0.ticks) } ?? .null),
                ("ipis", kernelCPU.map { .uint($0.ipis) } ?? .null),
            ]))
        }
        return CommandOutput(blocks: [.table(table), .text("\(registers.count) cpus")],
                             json: .object([("cpus", .array(rows))]))
    }
}
