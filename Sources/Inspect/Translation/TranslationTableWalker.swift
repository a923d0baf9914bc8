import GdbRemote

/// Walks VMSAv8-64 stage 1 translation tables read through a `MemorySource`
/// in physical space.
///
/// Reads are whole tables, and every table a level needs is requested in one
/// batch: `translate` of one VA costs at most one round trip per level, a
/// full `dump` one round trip per level of the deepest half. Wrap the source
/// in a `CachingMemorySource` to make repeated walks on a stopped target free.
///
///     VA (48-bit, 4 KiB granule):
///     63      56 55   48 47    39 38    30 29    21 20    12 11      0
///     [ tag/ext ][ ext ][ L0 idx ][ L1 idx ][ L2 idx ][ L3 idx ][ offset ]
///                  bit 55 picks TTBR0 (0) or TTBR1 (1)
public final class TranslationTableWalker {
    /// Where tables are read (physical space); wrap it in a `CachingMemorySource` on a stopped target.
    public let memory: any MemorySource
    /// The registers being walked.
    public let context: TranslationContext
    private let memoryTypes: [MemoryType]
    private var attributeCache: [UInt64: MappingAttributes] = [:]

    /// A walker over `context`'s tables in `memory`.
    public init(memory: any MemorySource, context: TranslationContext) {
        self.memory = memory
        self.context = context
        memoryTypes = (0..<8).map { context.mair.attribute($0) }
    }

    /// Translates one VA (`vtop`).
    public func translate(_ virtualAddress: UInt64) throws(TranslationError) -> Translation {
        try translate([virtualAddress])[0]
    }

    /// Translates many VAs together: one batch per level for all of them.
    public func translate(_ virtualAddresses: [UInt64]) throws(TranslationError) -> [Translation] {
        struct Pending {
            var resultIndex: Int
            var config: HalfConfiguration
            var address: UInt64
            var level: Int
            var table: UInt64
            var entries: Int
            var inherited: TableAttributes
        }
        var results: [Translation] = []
        var pending: [Pending] = []
        for va in virtualAddresses {
            var result = Translation(virtualAddress: va, untaggedAddress: va, half: nil, mmuEnabled: context.sctlr.mmuEnabled,
                                     steps: [], physicalAddress: nil, leafLevel: nil, leafSize: nil, attributes: nil, fault: nil)
            if !context.sctlr.mmuEnabled {
                result.physicalAddress = va
            } else {
                switch context.resolve(va) {
                case .failure(let fault):
                    result.fault = fault
                case .success(let (config, untagged)):
                    result.half = config.half
                    result.untaggedAddress = untagged
                    pending.append(Pending(resultIndex: results.count, config: config, address: untagged,
                                           level: config.startLevel, table: config.tableAddress,
                                           entries: config.startEntries, inherited: .none))
                }
            }
            results.append(result)
        }

        while !pending.isEmpty {
            let tables = try readTables(pending.map { ($0.table, $0.entries) })
            var next: [Pending] = []
            for var walk in pending {
                let granule = walk.config.granule
                let shift = granule.shift(atLevel: walk.level)
                let index = Int((walk.address >> UInt64(shift)) & UInt64(walk.entries - 1))
                let table: [UInt8]
                switch tables[TableKey(walk.table, walk.entries)]! {
                case .success(let bytes): table = bytes
                case .failure(let error):
                    results[walk.resultIndex].fault = TranslationFault(kind: .unreadableTable, level: walk.level,
                                                                       detail: "table \(Hex.format(walk.table)) cannot be read: \(error)")
                    continue
                }
                let raw = table.littleEndianUInt64(at: index * 8)
                let descriptor = DecodedDescriptor(raw: raw, level: walk.level, granule: granule,
                                                   physicalAddressBits: context.physicalAddressBits)
                results[walk.resultIndex].steps.append(WalkStep(level: walk.level, tableAddress: walk.table, index: index,
                                                                descriptorAddress: walk.table + UInt64(index * 8),
                                                                descriptor: descriptor))
                switch descriptor.kind {
                case .invalid:
                    results[walk.resultIndex].fault = TranslationFault(kind: .translation, level: walk.level,
                                                                       detail: "invalid descriptor \(Hex.format(raw))")
                case .reserved:
                    results[walk.resultIndex].fault = TranslationFault(kind: .malformedDescriptor, level: walk.level,
                                                                       detail: descriptor.problem ?? "reserved descriptor")
                case .table:
                    if !walk.config.hierarchicalPermissionsDisabled || descriptor.tableAttributes!.nsTable {
                        walk.inherited = walk.inherited.accumulating(effectiveTableAttributes(descriptor.tableAttributes!, walk.config))
                    }
                    walk.level += 1
                    walk.table = descriptor.nextTableAddress!
                    walk.entries = granule.entriesPerTable
                    next.append(walk)
                case .block, .page:
                    let size = descriptor.mappedSize!
                    let attributes = self.attributes(raw: raw, inherited: walk.inherited)
                    results[walk.resultIndex].physicalAddress = descriptor.outputAddress! | (walk.address & (size - 1))
                    results[walk.resultIndex].leafLevel = walk.level
                    results[walk.resultIndex].leafSize = size
                    results[walk.resultIndex].attributes = attributes
                    if !attributes.accessFlag && !context.tcr.ha {
                        results[walk.resultIndex].fault = TranslationFault(kind: .accessFlag, level: walk.level,
                                                                           detail: "AF is clear and TCR.HA is 0")
                    }
                }
            }
            pending = next
        }
        return results
    }

    /// Walks every table reachable from the chosen halves and merges the
    /// leaves into runs of equal attributes.
    public func dump(halves: [TranslationHalf] = TranslationHalf.allCases,
                     limits: DumpLimits = .default) throws(TranslationError) -> AddressSpaceDump {
        try TranslationTableWalker.dump([(self, halves)], limits: limits)[0]
    }

    /// Dumps several address spaces (e.g. the live one and every task's) in
    /// ONE breadth-first walk: each level of all of them is one batch, and a
    /// table they share is read once. All walkers must read the same memory.
    ///
    /// Guest tables are untrusted: within one space a table is walked once
    /// per half (a second descriptor pointing at it is reported, not
    /// followed, so 512 entries naming one table cannot grow the walk to
    /// 512^n), and `limits` caps the tables, leaves and problem lines each
    /// space may produce. A space's halves are walked lower first, each once,
    /// whatever order `halves` lists them in.
    public static func dump(_ spaces: [(walker: TranslationTableWalker, halves: [TranslationHalf])],
                            limits: DumpLimits = .default) throws(TranslationError) -> [AddressSpaceDump] {
        guard let memory = spaces.first?.walker.memory else { return [] }
        var collectors = [DumpCollector](repeating: DumpCollector(), count: spaces.count)
        var frontier: [PendingTable] = []
        for (index, space) in spaces.enumerated() where space.walker.context.sctlr.mmuEnabled {
            // Lower half first, each once: every round of the frontier must stay in VA order for the run merging.
            for half in TranslationHalf.allCases where space.halves.contains(half) {
                let config = space.walker.context.configuration(half)
                guard !config.walksDisabled else { continue }
                let seen = DumpCollector.SeenTable(half: config.half == .lower ? 0 : 1, address: config.tableAddress)
                collectors[index].seenTables[seen] = config.startLevel
                frontier.append(PendingTable(space: index, config: config, level: config.startLevel, table: config.tableAddress,
                                             entries: config.startEntries, virtualBase: config.firstAddress, inheritedBits: 0))
            }
        }
        while !frontier.isEmpty {
            let tables = try readTables(frontier.map { ($0.table, $0.entries) }, from: memory)
            for space in Set(frontier.map(\.space)) { collectors[space].statistics.roundTrips += 1 }
            var next: [PendingTable] = []
            for pending in frontier {
                collectors[pending.space].walk(pending, content: tables[TableKey(pending.table, pending.entries)]!,
                                               walker: spaces[pending.space].walker, limits: limits, queueing: &next)
            }
            for space in collectors.indices { collectors[space].endRound() }
            frontier = next
        }
        return collectors.indices.map { collectors[$0].dump(registers: spaces[$0].walker.context.registers) }
    }

    // MARK: helpers

    private struct TableKey: Hashable {
        var address: UInt64
        var entries: Int
        init(_ address: UInt64, _ entries: Int) { self.address = address; self.entries = entries }
    }

    /// Reads every distinct table in ONE batch; a table that cannot be read
    /// fails alone (its error is in the result), only a transport failure throws.
    private func readTables(_ tables: [(UInt64, Int)]) throws(TranslationError) -> [TableKey: Result<[UInt8], MemoryError>] {
        try TranslationTableWalker.readTables(tables, from: memory)
    }

    private static func readTables(_ tables: [(UInt64, Int)], from memory: any MemorySource) throws(TranslationError) -> [TableKey: Result<[UInt8], MemoryError>] {
        var keys: [TableKey] = []
        var seen = Set<TableKey>()
        for (address, entries) in tables where seen.insert(TableKey(address, entries)).inserted {
            keys.append(TableKey(address, entries))
        }
        let contents: [Result<[UInt8], MemoryError>]
        do {
            contents = try memory.readEach(keys.map { MemoryRequest(.physical, address: $0.address, length: $0.entries * 8) })
        } catch {
            throw .memory(error)
        }
        var result: [TableKey: Result<[UInt8], MemoryError>] = [:]
        for (key, content) in zip(keys, contents) {
            if case .success(let bytes) = content, bytes.count != key.entries * 8 {
                result[key] = .failure(.shortRead(MemoryRequest(.physical, address: key.address, length: key.entries * 8), got: bytes.count))
            } else {
                result[key] = content
            }
        }
        return result
    }

    /// NSTable is the only hierarchical bit left when HPD is set.
    private func effectiveTableAttributes(_ attributes: TableAttributes, _ config: HalfConfiguration) -> TableAttributes {
        guard config.hierarchicalPermissionsDisabled else { return attributes }
        return TableAttributes(noEL0Access: false, readOnly: false, uxnTable: false, pxnTable: false, nsTable: attributes.nsTable)
    }

    /// The effective attributes of a leaf under tables whose hierarchical bits
    /// (APTable, UXNTable, PXNTable, NSTable) are `inheritedBits` at 63:59.
    func attributes(raw: UInt64, inheritedBits: UInt64) -> MappingAttributes {
        let key = AttributeInterner.key(raw: raw, inheritedBits: inheritedBits)
        if let cached = attributeCache[key] { return cached }
        let inherited = TableAttributes(raw: inheritedBits)
        let attributes = MappingAttributes(leaf: LeafAttributes(raw: raw), inherited: inherited, memoryTypes: memoryTypes,
                                           writeImpliesExecuteNever: context.sctlr.writeImpliesExecuteNever)
        attributeCache[key] = attributes
        return attributes
    }

    /// The same for the `TableAttributes` a single-address walk accumulates.
    private func attributes(raw: UInt64, inherited: TableAttributes) -> MappingAttributes {
        var bits: UInt64 = 0
        if inherited.pxnTable { bits |= 1 << 59 }
        if inherited.uxnTable { bits |= 1 << 60 }
        if inherited.noEL0Access { bits |= 1 << 61 }
        if inherited.readOnly { bits |= 1 << 62 }
        if inherited.nsTable { bits |= 1 << 63 }
        return attributes(raw: raw, inheritedBits: bits)
    }
}
