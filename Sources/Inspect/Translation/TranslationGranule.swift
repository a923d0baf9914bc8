/// A translation granule: the page size and, from it, the shape of every level.
///
/// Each level resolves `pageShift - 3` VA bits (a table is one page of 8-byte
/// descriptors). The starting level follows from the input-address size:
/// with 4 KiB pages and a 48-bit VA the walk starts at level 0, with 39 bits
/// at level 1; a 64 KiB granule never starts above level 1 for 48 bits.
public enum TranslationGranule: String, Codable, Sendable, CaseIterable {
    case size4KiB = "4K"
    case size16KiB = "16K"
    case size64KiB = "64K"

    /// log2 of the page size.
    public var pageShift: Int {
        switch self {
        case .size4KiB: return 12
        case .size16KiB: return 14
        case .size64KiB: return 16
        }
    }

    /// Page size in bytes.
    public var pageSize: UInt64 { 1 << UInt64(pageShift) }

    /// VA bits resolved per level.
    public var bitsPerLevel: Int { pageShift - 3 }

    /// Descriptors in a full table.
    public var entriesPerTable: Int { 1 << bitsPerLevel }

    /// The lowest VA bit indexed at `level` (= log2 of what one entry maps).
    public func shift(atLevel level: Int) -> Int {
        pageShift + (3 - level) * bitsPerLevel
    }

    /// Levels at which a block descriptor is legal with at most 48-bit output
    /// addresses (4K: 1 GiB and 2 MiB; 16K: 32 MiB; 64K: 512 MiB). Elsewhere
    /// bit 1 clear in a valid descriptor is reserved.
    public func allowsBlock(atLevel level: Int) -> Bool {
        switch self {
        case .size4KiB: return level == 1 || level == 2
        case .size16KiB, .size64KiB: return level == 2
        }
    }

    /// The level a walk of an `inputBits`-bit address space starts at.
    public func startLevel(inputBits: Int) -> Int {
        let levels = (inputBits - pageShift + bitsPerLevel - 1) / bitsPerLevel
        return 4 - levels
    }

    /// Descriptors in a table at `level` for an `inputBits`-bit space (the
    /// starting-level table may be smaller than a page, or concatenated).
    public func entries(atLevel level: Int, inputBits: Int) -> Int {
        if level == startLevel(inputBits: inputBits) {
            return 1 << (inputBits - shift(atLevel: level))
        }
        return entriesPerTable
    }

    /// TCR_EL1.TG0 encoding (00 4K, 01 64K, 10 16K; 11 reserved, treated as 4K as QEMU does).
    public init(tg0: UInt64) {
        switch tg0 & 3 {
        case 1: self = .size64KiB
        case 2: self = .size16KiB
        default: self = .size4KiB
        }
    }

    /// TCR_EL1.TG1 encoding (01 16K, 10 4K, 11 64K; 00 reserved, treated as 4K as QEMU does).
    public init(tg1: UInt64) {
        switch tg1 & 3 {
        case 1: self = .size16KiB
        case 3: self = .size64KiB
        default: self = .size4KiB
        }
    }
}
