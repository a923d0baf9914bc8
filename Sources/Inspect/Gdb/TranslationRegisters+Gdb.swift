import GdbRemote

extension TranslationRegisters {
    /// Register names as QEMU's target description spells them (SCTLR has no `_EL1`).
    public static let gdbRegisterNames = ["SCTLR", "TCR_EL1", "MAIR_EL1", "TTBR0_EL1", "TTBR1_EL1"]

    /// Reads SCTLR, TCR, MAIR, TTBR0 and TTBR1 of the stopped CPU in one pipelined exchange.
    public static func read(from client: GdbClient) throws(GdbError) -> TranslationRegisters {
        let values = try client.readRegisters(gdbRegisterNames)
        return TranslationRegisters(sctlr: values[0], tcr: values[1], mair: values[2], ttbr0: values[3], ttbr1: values[4])
    }
}
