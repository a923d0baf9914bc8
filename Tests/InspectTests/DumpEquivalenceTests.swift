import GdbRemote
import Testing
import Inspect
import TestSupport

/// A random address space built to stress the dump's run merging: stretches
/// of pages that cross table boundaries with physical breaks, attribute
/// changes (leaf bits, software bits that are not attributes, inherited table
/// bits), holes, blocks, the last pages of the VA space, and hostile
/// descriptors (reserved, too-large output addresses, repeated tables, loops).
struct RandomRunLayout {
    var space: SyntheticAddressSpace
    let seed: UInt64

    /// Every draw comes from `seed`, so a failure names a layout that can be replayed.
    init(granule: TranslationGranule, inputBits: Int, seed: UInt64) {
        self.seed = seed
        space = SyntheticAddressSpace(granule: granule, inputBits: inputBits)
        space.ips = 2   // 40-bit output addresses: some descriptors below exceed them
        var generator = SeededGenerator(seed: seed)
        let page = granule.pageSize
        let halfSize = UInt64(1) << UInt64(inputBits)
        func randomPage(below limit: UInt64) -> UInt64 { UInt64.random(in: 0..<(limit / page), using: &generator) * page }
        let leafAttributes = [Bits.kernelData, Bits.userData, Bits.userText, Bits.kernelData | Bits.nG,
                              Bits.kernelData | 1 << 55 /* software bit: not an attribute */,
                              Bits.af | Bits.attrDevice | Bits.pxn | Bits.uxn]
        let tableBits: [UInt64] = [0, 0, 0, Bits.uxnTable, Bits.apTableReadOnly | Bits.pxnTable, Bits.apTableNoEL0]
        let longest = min(1200, Int(halfSize / page) / 2)   // more than a 4K table: runs cross table boundaries

        for (tables, base) in [(space.lower, UInt64(0)), (space.upper, space.upperBase)] {
            // Stretches of pages.
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let count = Int.random(in: 1...longest, using: &generator)
                var va = base + randomPage(below: halfSize - UInt64(count) * page)
                var pa = randomPage(below: 1 << 39)
                var attributes = leafAttributes.randomElement(using: &generator)!
                let inherited = tableBits.randomElement(using: &generator)!
                for _ in 0..<count {
                    switch Int.random(in: 0..<64, using: &generator) {
                    case 0: pa = randomPage(below: 1 << 39)
                    case 1: attributes = leafAttributes.randomElement(using: &generator)!
                    case 2: va += page; pa += page; continue   // a hole
                    default: break
                    }
                    tables.map(va, to: pa, leafLevel: 3, attributes: attributes, tableBits: inherited)
                    va += page
                    pa += page
                }
            }
            // Stretches of blocks (they may replace tables built above: both decoders read the same memory).
            for level in granule.startLevel(inputBits: inputBits)..<3 where granule.allowsBlock(atLevel: level) {
                let size = UInt64(1) << UInt64(granule.shift(atLevel: level))
                guard 8 * size <= halfSize else { continue }
                let count = UInt64.random(in: 1...4, using: &generator)
                var va = base + UInt64.random(in: 0..<(halfSize / size - count), using: &generator) * size
                var pa = UInt64.random(in: 0..<((1 << 39) / size), using: &generator) * size
                for _ in 0..<count {
                    tables.map(va, to: pa, leafLevel: level, attributes: Bits.kernelData)
                    va += size
                    pa += size
                }
            }
        }
        // One stretch across a last-level table boundary, whatever the draws: the run must carry over.
        let boundary = UInt64(granule.entriesPerTable) * page
        if 2 * boundary <= halfSize {
            for i in UInt64(0)..<6 {
                space.lower.map(boundary - 3 * page + i * page, to: 0x4800_0000 + i * page, leafLevel: 3, attributes: Bits.userData)
            }
        }
        // The last two pages of the VA space, physically contiguous: a run ending at the top must not wrap.
        space.upper.map(UInt64.max - 2 * page + 1, to: 0x4000_0000, leafLevel: 3, attributes: Bits.kernelData)
        space.upper.map(UInt64.max - page + 1, to: 0x4000_0000 + page, leafLevel: 3, attributes: Bits.kernelData)
        // Hostile descriptors at random places.
        for _ in 0..<Int.random(in: 0...4, using: &generator) {
            let tables = Bool.random(using: &generator) ? space.lower : space.upper
            let base = tables === space.lower ? UInt64(0) : space.upperBase
            let va = base + randomPage(below: halfSize)
            let start = granule.startLevel(inputBits: inputBits)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: tables.setDescriptor(va, level: 3, raw: randomPage(below: 1 << 39) | Bits.af | 1)                   // reserved at L3
            case 1: tables.setDescriptor(va, level: 3, raw: (1 << 45) | Bits.af | 3)                                   // beyond 40 bits
            case 2:
                guard start < 3 else { break }
                tables.setDescriptor(va, level: Int.random(in: start + 1...3, using: &generator), raw: tables.root | 3)   // loop
            default:
                guard start < 2 else { break }
                tables.setDescriptor(va, level: 2, raw: tables.descriptorAddress(base, level: 3) & ~(page - 1) | 3)   // repeated table
            }
        }
    }
}

/// The straightforward decode the dump must agree with: breadth first like
/// the walker (so the same descriptor is the first to name a repeated table),
/// every descriptor through `DecodedDescriptor`, one leaf per block or page,
/// then leaves sorted by VA and merged greedily.
struct ReferenceDump {
    /// One merged run, field by field as `MappingRun` has them.
    struct Run: Equatable, CustomStringConvertible {
        var half: TranslationHalf
        var virtualStart: UInt64
        var size: UInt64
        var physicalStart: UInt64
        var leafLevel: Int
        var leafSize: UInt64
        var leafCount: Int
        var attributes: MappingAttributes

        init(half: TranslationHalf, virtualStart: UInt64, size: UInt64, physicalStart: UInt64, leafLevel: Int, leafSize: UInt64,
             leafCount: Int, attributes: MappingAttributes) {
            (self.half, self.virtualStart, self.size, self.physicalStart) = (half, virtualStart, size, physicalStart)
            (self.leafLevel, self.leafSize, self.leafCount, self.attributes) = (leafLevel, leafSize, leafCount, attributes)
        }

        init(_ run: MappingRun) {
            self.init(half: run.half, virtualStart: run.virtualStart, size: run.size, physicalStart: run.physicalStart,
                      leafLevel: run.leafLevel, leafSize: run.leafSize, leafCount: run.leafCount, attributes: run.attributes)
        }

        var description: String { "\(Hex.format(virtualStart))+\(Hex.format(size)) -> \(Hex.format(physicalStart)) x\(leafCount) \(attributes)" }
    }

    var runs: [Run] = []
    var tablesPerLevel = [0, 0, 0, 0]
    var blocksPerLevel = [0, 0, 0, 0]
    var pages = 0
    var mappedBytes: UInt64 = 0
    /// `half level table[index] = raw` of every descriptor reported instead of followed.
    var problems: [String] = []

    private struct Leaf {
        var half: TranslationHalf
        var virtualAddress: UInt64
        var physicalAddress: UInt64
        var size: UInt64
        var level: Int
        var leaf: LeafAttributes
        var inherited: TableAttributes
    }

    private struct Table {
        var config: HalfConfiguration
        var level: Int
        var address: UInt64
        var entries: Int
        var virtualBase: UInt64
        var inherited: TableAttributes
    }

    init(context: TranslationContext, memory: any MemorySource) throws {
        var leaves: [Leaf] = []
        var frontier: [Table] = []
        var seen: [TranslationHalf: Set<UInt64>] = [:]
        for half in TranslationHalf.allCases {
            let config = context.configuration(half)
            seen[half] = [config.tableAddress]
            frontier.append(Table(config: config, level: config.startLevel, address: config.tableAddress,
                                  entries: config.startEntries, virtualBase: config.firstAddress, inherited: .none))
        }
        while !frontier.isEmpty {
            var next: [Table] = []
            for table in frontier {
                tablesPerLevel[table.level] += 1
                let bytes = try memory.read(MemoryRequest(.physical, address: table.address, length: table.entries * 8))
                let granule = table.config.granule
                for index in 0..<table.entries {
                    let raw = bytes.littleEndianUInt64(at: index * 8)
                    let descriptor = DecodedDescriptor(raw: raw, level: table.level, granule: granule,
                                                       physicalAddressBits: context.physicalAddressBits)
                    let va = table.virtualBase &+ UInt64(index) << UInt64(granule.shift(atLevel: table.level))
                    // Made only when reported: most entries are invalid, and interpolating a string for each dominated this reference.
                    var problem: String { "\(table.config.half) L\(table.level) \(Hex.format(table.address))[\(index)] = \(Hex.format(raw))" }
                    switch descriptor.kind {
                    case .invalid:
                        continue
                    case .reserved:
                        problems.append(problem)
                    case .table:
                        let address = descriptor.nextTableAddress!
                        guard seen[table.config.half]!.insert(address).inserted else {
                            problems.append(problem)
                            continue
                        }
                        // Restrictions only add up; with HPD only NSTable is inherited.
                        let below = descriptor.tableAttributes!
                        var inherited = table.inherited
                        inherited.nsTable = inherited.nsTable || below.nsTable
                        if !table.config.hierarchicalPermissionsDisabled {
                            inherited.noEL0Access = inherited.noEL0Access || below.noEL0Access
                            inherited.readOnly = inherited.readOnly || below.readOnly
                            inherited.uxnTable = inherited.uxnTable || below.uxnTable
                            inherited.pxnTable = inherited.pxnTable || below.pxnTable
                        }
                        next.append(Table(config: table.config, level: table.level + 1, address: address,
                                          entries: granule.entriesPerTable, virtualBase: va, inherited: inherited))
                    case .block, .page:
                        if descriptor.kind == .page { pages += 1 } else { blocksPerLevel[table.level] += 1 }
                        mappedBytes &+= descriptor.mappedSize!
                        var leaf = descriptor.leafAttributes!
                        leaf.software = 0
                        leaves.append(Leaf(half: table.config.half, virtualAddress: va, physicalAddress: descriptor.outputAddress!,
                                           size: descriptor.mappedSize!, level: table.level, leaf: leaf, inherited: table.inherited))
                    }
                }
            }
            frontier = next
        }
        leaves.sort { $0.virtualAddress < $1.virtualAddress }
        let memoryTypes = (0..<8).map { context.mair.attribute($0) }
        var i = 0
        while i < leaves.count {
            let first = leaves[i]
            var count = 1
            while i + count < leaves.count {
                let previous = leaves[i + count - 1], leaf = leaves[i + count]
                let end = previous.virtualAddress &+ previous.size
                guard leaf.half == first.half, leaf.size == first.size, leaf.leaf == first.leaf, leaf.inherited == first.inherited,
                      end == leaf.virtualAddress, end != 0, previous.physicalAddress &+ previous.size == leaf.physicalAddress else { break }
                count += 1
            }
            runs.append(Run(half: first.half, virtualStart: first.virtualAddress, size: first.size * UInt64(count),
                                   physicalStart: first.physicalAddress, leafLevel: first.level, leafSize: first.size, leafCount: count,
                                   attributes: MappingAttributes(leaf: first.leaf, inherited: first.inherited, memoryTypes: memoryTypes,
                                                                 writeImpliesExecuteNever: context.sctlr.writeImpliesExecuteNever)))
            i += count
        }
    }
}

/// The dump's fast decode (raw descriptor bits compared, runs merged as the
/// walk goes) against the straightforward one on random tables of every granule.
@Suite struct DumpEquivalenceTests {
    static let shapes: [(TranslationGranule, Int)] = [
        (.size4KiB, 48), (.size4KiB, 39), (.size4KiB, 25),
        (.size16KiB, 47), (.size16KiB, 36),
        (.size64KiB, 42), (.size64KiB, 29),
    ]

    @Test(arguments: shapes)
    func theDumpAgreesWithTheStraightforwardDecode(granule: TranslationGranule, inputBits: Int) throws {
        for seed in UInt64(1)...6 {
            let layout = RandomRunLayout(granule: granule, inputBits: inputBits, seed: seed)
            let dump = try layout.space.walker().dump()
            let reference = try ReferenceDump(context: layout.space.context, memory: layout.space.memory)
            let replay = "granule \(granule.rawValue), \(inputBits) bits, seed \(seed)"
            #expect(dump.runs.map(ReferenceDump.Run.init) == reference.runs, "\(replay)")
            #expect(dump.statistics.runs == reference.runs.count, "\(replay)")
            #expect(dump.statistics.tablesPerLevel == reference.tablesPerLevel, "\(replay)")
            #expect(dump.statistics.blocksPerLevel == reference.blocksPerLevel, "\(replay)")
            #expect(dump.statistics.pages == reference.pages, "\(replay)")
            #expect(dump.statistics.mappedBytes == reference.mappedBytes, "\(replay)")
            #expect(dump.problems.map { "\($0.half) L\($0.level) \(Hex.format($0.tableAddress))[\($0.index)] = \(Hex.format($0.raw))" } == reference.problems,
                    "\(replay)")
            // The layouts must exercise what they are for: long runs and breaks between them.
            #expect(dump.runs.contains { $0.leafCount > 1 } && dump.runs.count > 2, "\(replay)")
        }
    }
}
