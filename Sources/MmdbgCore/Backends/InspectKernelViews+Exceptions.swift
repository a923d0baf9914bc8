import Inspect

/// What `bt` needs to cross the kernel's exception boundary: where the
/// exception entry resumes (`exception_return`), the trap frame it saved
/// (KernelABI's `mm_trap_frame`, which records the vector and ESR), and the
/// EL0 program images the kernel embeds.
extension InspectKernelViews {
    public func exceptionReturnAddress() -> UInt64? {
        (session.symbols as? ELFSymbolTable)?.elf.symbol(named: "exception_return")?.address
    }

    public func interruptedContext(trapFrameAt address: UInt64) throws(CommandError) -> InterruptedContext {
        try session.requireLayout(for: "bt across exceptions")
        let bytes = try readVirtualMemory(at: address, count: TrapFrame.size)
        guard let frame = TrapFrame(bytes: bytes) else {
            throw .target("short read of the trap frame at \(Hex.format(address))")
        }
        return InterruptedContext(summary: frame.summary, kind: frame.kind.rawValue, fromLevel: frame.fromLevel,
                                  registers: frame.registers(frameAddress: address),
                                  pcFollowsTrap: frame.resumesAfterTrappingInstruction)
    }

    /// The program of the current task: the only one there is, else the
    /// embedded image named like the task (only then is the task table read).
    public func userProgram() -> EmbeddedUserProgram? {
        guard let elf = (session.symbols as? ELFSymbolTable)?.elf else { return nil }
        let programs = EmbeddedProgram.all(in: elf)
        guard !programs.isEmpty else { return nil }
        if programs.count == 1 { return EmbeddedUserProgram(name: programs[0].name, image: programs[0].image) }
        let taskName = (try? physically { () throws(CommandError) -> String? in
            let snapshot = try kernelSnapshot()
            return snapshot.currentSlot.map { snapshot.slots[$0].name }
        }) ?? nil
        let chosen = programs.first { program in taskName.map { $0.lowercased().hasPrefix(program.name.lowercased()) } ?? false }
        return chosen.map { EmbeddedUserProgram(name: $0.name, image: $0.image) }
    }
}
