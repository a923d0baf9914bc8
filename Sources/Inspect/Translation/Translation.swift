/// One level of a walk: which table, which entry, what it held.
public struct WalkStep: Codable, Sendable, Hashable {
    public var level: Int
    public var tableAddress: UInt64
    public var index: Int
    /// Physical address of the descriptor (table + 8 × index).
    public var descriptorAddress: UInt64
    public var descriptor: DecodedDescriptor
}

/// The answer to `vtop VA`: every level's descriptor and, when the walk
/// reached a block or page, the physical address and effective attributes.
public struct Translation: Codable, Sendable, Hashable {
    public var virtualAddress: UInt64
    /// The VA with its ignored top byte removed (equal to `virtualAddress` without TBI).
    public var untaggedAddress: UInt64
    /// Which TTBR the walk used (nil when the VA is in neither half or the MMU is off).
    public var half: TranslationHalf?
    /// False: SCTLR.M is clear and VA = PA.
    public var mmuEnabled: Bool
    public var steps: [WalkStep]
    /// Output address of the leaf plus the offset in it. Also set when the
    /// leaf has AF clear (then `fault` says so), nil when no leaf was reached.
    public var physicalAddress: UInt64?
    public var leafLevel: Int?
    /// Bytes mapped by the leaf (page or block size).
    public var leafSize: UInt64?
    public var attributes: MappingAttributes?
    public var fault: TranslationFault?

    /// Whether the access would translate (a leaf with no fault).
    public var isMapped: Bool { physicalAddress != nil && fault == nil }
}
