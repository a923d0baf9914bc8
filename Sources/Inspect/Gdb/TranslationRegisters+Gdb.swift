import GdbRemote

extension TranslationRegisters {
    /// Register names as QEMU's target description spells them (SCTLR has no `_EL1`).
    public static let gdbRegisterNames = ["SCTLR", "TCR_EL1", "MAIR_EL1", "TTBR0_EL1", "TTBR1_EL1"]

    /// Reads SCTLR, TCR, MAIR, TTBR0 and TTBR1 of the stopped CPU in one call of
    /// `readRegisters` (one pipelined exchange on a gdbstub), which answers by name
    /// in the order asked. The one place these five are read and assembled.
    public static func read<Failure: Error>(_ readRegisters: ([String]) throws(Failure) -> [UInt64]) throws(Failure)
        -> TranslationRegisters {
        let values = try readRegisters(gdbRegisterNames)
        return TranslationRegisters(sctlr: values[0], tcr: values[1], mair: values[2], ttbr0: values[3], ttbr1: values[4])
    }

    /// Reads the five registers through a GdbRemote client.
    public static func read(from client: GdbClient) throws(GdbError) -> TranslationRegisters {
        try read { names throws(GdbError) in try client.readRegisters(names) }
    }
}
