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
        let bytes = try readVirtualMemory(at: address, count: TrapFrame.size)
        guard let frame = TrapFrame(bytes: bytes) else {
            throw .target("short read of the trap frame at \(Hex.format(address))")
        }
        return InterruptedContext(summary: frame.summary, kind: frame.kind.rawValue, fromLevel: frame.fromLevel,
                                  registers: frame.registers(frameAddress: address),
                                  pcFollowsTrap: frame.resumesAfterTrappingInstruction)
    }

    /// The program of the current task: the embedded image named like the
    /// task, else the only one there is.
    public func userProgram() -> EmbeddedUserProgram? {
        guard let elf = (session.symbols as? ELFSymbolTable)?.elf else { return nil }
        let programs = EmbeddedProgram.all(in: elf)
        guard !programs.isEmpty else { return nil }
        let taskName = (try? physically { () throws(CommandError) -> String? in
            let snapshot = try kernelSnapshot()
            return snapshot.currentSlot.map { snapshot.slots[$0].name }
        }) ?? nil
        let chosen = programs.first { program in taskName.map { $0.lowercased().hasPrefix(program.name.lowercased()) } ?? false }
            ?? (programs.count == 1 ? programs[0] : nil)
        return chosen.map { EmbeddedUserProgram(name: $0.name, image: $0.image) }
    }
}
