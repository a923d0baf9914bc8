import GdbRemote

extension GdbClient {
    /// QEMU's own translation of `va` (`gva2gpa`). It is nil only when QEMU
    /// answers that the address is unmapped: any other failure (a timeout on a
    /// loaded machine, a lost connection, an unexpected reply) throws, so a
    /// query that failed can never pass for "unmapped".
    public func qemuTranslation(_ va: UInt64) throws -> UInt64? {
        do {
            return try qemu.translate(virtualAddress: va)
        } catch {
            if case .malformedReply(let text) = error.kind, text.contains("Unmapped") { return nil }
            throw error
        }
    }
}
