import Inspect

/// Builds VMSAv8-64 translation tables in `SyntheticMemory` for any granule
/// and input size, the way a kernel would: tables are allocated on demand
/// from an arena, leaves are `output address | attributes | valid (| page)`.
public final class SyntheticTranslationTables {
    public let memory: SyntheticMemory
    public let granule: TranslationGranule
    public let inputBits: Int
    /// Physical address of the starting-level table (what TTBRn holds, minus the ASID).
    public let root: UInt64
    /// Tables allocated, per level.
    public private(set) var tablesPerLevel = [0, 0, 0, 0]
    private var nextFree: UInt64

    /// `arena` is where tables are allocated (granule aligned).
    public init(memory: SyntheticMemory, granule: TranslationGranule, inputBits: Int, arena: UInt64) {
        self.memory = memory
        self.granule = granule
        self.inputBits = inputBits
        nextFree = arena
        let start = granule.startLevel(inputBits: inputBits)
        root = nextFree
        nextFree += granule.pageSize
        tablesPerLevel[start] += 1
    }

    public var startLevel: Int { granule.startLevel(inputBits: inputBits) }

    /// Maps `va` to `pa` with a block or page at `leafLevel`. Table
    /// descriptors created on the way get `tableBits` (APTable, UXNTable,
    /// PXNTable, NSTable in bits 63:59).
    public func map(_ va: UInt64, to pa: UInt64, leafLevel: Int, attributes: UInt64, tableBits: UInt64 = 0) {
        let leaf = pa | attributes | 1 | (leafLevel == 3 ? 2 : 0)
        setDescriptor(va, level: leafLevel, raw: leaf, tableBits: tableBits)
    }

    /// Writes any raw descriptor (malformed ones included) for `va` at `level`,
    /// creating the tables above it.
    public func setDescriptor(_ va: UInt64, level: Int, raw: UInt64, tableBits: UInt64 = 0) {
        memory.store64(raw, at: descriptorAddress(va, level: level, tableBits: tableBits))
    }

    /// Physical address of the descriptor for `va` at `level` (tables above are created).
    public func descriptorAddress(_ va: UInt64, level: Int, tableBits: UInt64 = 0) -> UInt64 {
        var table = root
        var current = startLevel
        while true {
            let shift = granule.shift(atLevel: current)
            let entries = granule.entries(atLevel: current, inputBits: inputBits)
            let index = (va >> UInt64(shift)) & UInt64(entries - 1)
            let slot = table + index * 8
            if current == level { return slot }
            var descriptor = memory.load64(at: slot)
            if descriptor & 3 != 3 {
                let fresh = nextFree
                nextFree += granule.pageSize
                tablesPerLevel[current + 1] += 1
                descriptor = fresh | tableBits | 3
                memory.store64(descriptor, at: slot)
            }
            table = DescriptorFields.addressBits(descriptor, lowestBit: granule.pageShift)
            current += 1
        }
    }

    /// Every table allocated.
    public var tableCount: Int { tablesPerLevel.reduce(0, +) }
}
