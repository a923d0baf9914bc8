/// `cpus` and `cpu N`: the target's vCPUs (QEMU's gdbstub: one thread each)
/// and which one the other commands use.
enum CPUCommands {
    static var all: [CommandSpec] { [cpus, cpu] }

    static let cpus = CommandSpec(
        name: "cpus", aliases: ["info-cpus"], group: "kernel",
        summary: "list each vCPU: EL, PC, current task, TTBR0 + ASID, TTBR1, IRQ mask",
        usage: "cpus",
        details: "One row per vCPU (gdb: `info threads`; QEMU numbers them CPU#0…, the stub's threads 1…).\nWith the kernel ELF, TASK and STATE come from the kernel's mm_cpus[] (idle/busy) and TICKS\ncounts its timer interrupts. `*` marks the CPU `regs`, `bt`, `vtop`, `pt` and `x` use (`cpu N`).",
        examples: ["cpus", "cpu 0"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let output = try session.requireKernelViews(for: "cpus").cpus()
        try session.noteCPUCount(try session.target?.cpuNumbers().count ?? 1)
        return output
    }

    static let cpu = CommandSpec(
        name: "cpu", aliases: ["thread"], group: "kernel",
        summary: "select the CPU that regs, bt, vtop, pt and x use (the prompt shows it)",
        usage: "cpu [N]",
        details: "N is 0-based, as QEMU's CPU#N and the kernel's mm_cpus[N] (gdb's `thread N+1`).\nWithout N: show the selected CPU. The next stop selects the CPU that stopped, as gdb does.",
        examples: ["cpu", "cpu 0"]
    ) { args, session throws(CommandError) in
        try args.expectCount(0...1)
        if args.positionals.isEmpty {
            _ = try session.requireStoppedTarget(for: "cpu")
            let index = session.selectedCPU ?? (session.target?.lastStopCPU ?? 1) - 1
            return CommandOutput(blocks: [.text("cpu \(index)")], json: .object([("cpu", .int(Int64(index)))]))
        }
        let index = try args.count(at: 0, in: 0...255, name: "CPU")
        try session.selectCPU(index)
        let where_ = session.state.summary
        return CommandOutput(blocks: [.text("cpu \(index): \(where_)")],
                             json: .object([("cpu", .int(Int64(index))), ("target", session.state.jsonValue)]))
    }
}
