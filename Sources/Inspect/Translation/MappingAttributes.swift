/// Read / write / execute rights at one exception level.
public struct AccessRights: Codable, Sendable, Hashable, CustomStringConvertible {
    public var read: Bool
    public var write: Bool
    public var execute: Bool

    /// Rights as given.
    public init(read: Bool, write: Bool, execute: Bool) {
        self.read = read
        self.write = write
        self.execute = execute
    }

    /// `rwx`, `r-x`, `---`.
    public var description: String { (read ? "r" : "-") + (write ? "w" : "-") + (execute ? "x" : "-") }
}

/// The effective attributes of a block or page: its own fields combined with
/// every table descriptor above it and resolved through MAIR and SCTLR.
/// Two leaves with equal `MappingAttributes` merge into one run of a dump.
public struct MappingAttributes: Codable, Sendable, Hashable, CustomStringConvertible {
    /// What EL1 (the kernel) may do.
    public var kernel: AccessRights
    /// What EL0 (user space) may do.
    public var user: AccessRights
    public var memoryType: MemoryType
    public var shareability: Shareability
    public var accessFlag: Bool
    public var global: Bool
    public var contiguous: Bool
    public var nonSecure: Bool
    public var dirtyBitModifier: Bool

    /// Combines a leaf with the accumulated table attributes above it.
    /// APTable[0] clears AP[1] (no EL0 access), APTable[1] sets AP[2]
    /// (read-only); UXNTable/PXNTable force UXN/PXN. A region writable at EL0
    /// is never executable at EL1, and with SCTLR.WXN a writable region is
    /// executable nowhere. `memoryTypes` are the eight MAIR attributes decoded.
    public init(leaf: LeafAttributes, inherited: TableAttributes, memoryTypes: [MemoryType],
                writeImpliesExecuteNever: Bool) {
        let el0Access = (leaf.ap & 1) != 0 && !inherited.noEL0Access
        let readOnly = (leaf.ap & 2) != 0 || inherited.readOnly
        let uxn = leaf.uxn || inherited.uxnTable
        let pxn = leaf.pxn || inherited.pxnTable
        let userWrite = el0Access && !readOnly
        let anyWrite = !readOnly
        let wxnBlocks = writeImpliesExecuteNever && anyWrite
        kernel = AccessRights(read: true, write: !readOnly, execute: !pxn && !userWrite && !wxnBlocks)
        user = AccessRights(read: el0Access, write: userWrite, execute: !uxn && !wxnBlocks)
        memoryType = memoryTypes[leaf.attrIndx]
        shareability = leaf.shareability
        accessFlag = leaf.af
        global = !leaf.nG
        contiguous = leaf.contiguous
        nonSecure = leaf.ns || inherited.nsTable
        dirtyBitModifier = leaf.dbm
    }

    /// Whether EL0 can touch the mapping at all.
    public var isUserAccessible: Bool { user.read || user.write || user.execute }
    /// Whether any exception level may write it.
    public var isWritable: Bool { kernel.write || user.write }
    /// Whether any exception level may execute it.
    public var isExecutable: Bool { kernel.execute || user.execute }

    /// `k:rwx u:r-- Normal WB-RWA ISH AF nG`.
    public var description: String {
        var text = "k:\(kernel) u:\(user) \(memoryType) \(shareability.rawValue)"
        if accessFlag { text += " AF" }
        if !global { text += " nG" }
        if contiguous { text += " CONT" }
        if nonSecure { text += " NS" }
        if dirtyBitModifier { text += " DBM" }
        return text
    }
}
