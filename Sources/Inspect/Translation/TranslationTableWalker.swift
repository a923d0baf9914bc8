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
    public let memory: any MemorySource
    public let context: TranslationContext
    private let memoryTypes: [MemoryType]
    private var attributeCache: [UInt64: MappingAttributes] = [:]

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
                                                                       detail: "table \(hex(walk.table)) cannot be read: \(error)")
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
                                                                       detail: "invalid descriptor \(hex(raw))")
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
    public func dump(halves: [TranslationHalf] = TranslationHalf.allCases) throws(TranslationError) -> AddressSpaceDump {
        struct PendingTable {
            var config: HalfConfiguration
            var level: Int
            var table: UInt64
            var entries: Int
            var virtualBase: UInt64
            var inherited: TableAttributes
        }
        var statistics = DumpStatistics()
        var problems: [WalkProblem] = []
        var leaves: [MappingRun] = []
        var visited: [VisitedTable] = []
        var frontier: [PendingTable] = []
        if context.sctlr.mmuEnabled {
            for half in halves {
                let config = context.configuration(half)
                guard !config.walksDisabled else { continue }
                frontier.append(PendingTable(config: config, level: config.startLevel, table: config.tableAddress,
                                             entries: config.startEntries, virtualBase: config.firstAddress, inherited: .none))
            }
        }
        while !frontier.isEmpty {
            let tables = try readTables(frontier.map { ($0.table, $0.entries) })
            statistics.roundTrips += 1
            var next: [PendingTable] = []
            for pending in frontier {
                let granule = pending.config.granule
                statistics.tablesPerLevel[pending.level] += 1
                visited.append(VisitedTable(half: pending.config.half, level: pending.level, address: pending.table,
                                            virtualBase: pending.virtualBase))
                statistics.tableBytes += UInt64(pending.entries * 8)
                let shift = UInt64(granule.shift(atLevel: pending.level))
                let bytes: [UInt8]
                switch tables[TableKey(pending.table, pending.entries)]! {
                case .success(let content): bytes = content
                case .failure(let error):
                    problems.append(WalkProblem(half: pending.config.half, level: pending.level, tableAddress: pending.table,
                                                index: 0, virtualAddress: pending.virtualBase, raw: 0,
                                                detail: "table cannot be read: \(error)"))
                    continue
                }
                bytes.withUnsafeBytes { buffer in
                    for index in 0..<pending.entries {
                        let raw = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                        guard raw & 1 != 0 else { continue }
                        let va = pending.virtualBase &+ (UInt64(index) << shift)
                        let descriptor = DecodedDescriptor(raw: raw, level: pending.level, granule: granule,
                                                           physicalAddressBits: context.physicalAddressBits)
                        switch descriptor.kind {
                        case .invalid:
                            break
                        case .reserved:
                            problems.append(WalkProblem(half: pending.config.half, level: pending.level, tableAddress: pending.table,
                                                        index: index, virtualAddress: va, raw: raw,
                                                        detail: descriptor.problem ?? "reserved descriptor"))
                        case .table:
                            var inherited = pending.inherited
                            if !pending.config.hierarchicalPermissionsDisabled || descriptor.tableAttributes!.nsTable {
                                inherited = inherited.accumulating(effectiveTableAttributes(descriptor.tableAttributes!, pending.config))
                            }
                            next.append(PendingTable(config: pending.config, level: pending.level + 1,
                                                     table: descriptor.nextTableAddress!, entries: granule.entriesPerTable,
                                                     virtualBase: va, inherited: inherited))
                        case .block, .page:
                            if descriptor.kind == .page { statistics.pages += 1 } else { statistics.blocksPerLevel[pending.level] += 1 }
                            statistics.mappedBytes &+= descriptor.mappedSize!
                            leaves.append(MappingRun(half: pending.config.half, virtualStart: va, size: descriptor.mappedSize!,
                                                     physicalStart: descriptor.outputAddress!, leafLevel: pending.level,
                                                     leafSize: descriptor.mappedSize!, leafCount: 1,
                                                     attributes: attributes(raw: raw, inherited: pending.inherited)))
                        }
                    }
                }
            }
            frontier = next
        }
        leaves.sort { $0.virtualStart < $1.virtualStart }
        let runs = MappingRun.merged(leaves)
        statistics.runs = runs.count
        statistics.problems = problems.count
        return AddressSpaceDump(registers: context.registers, runs: runs, statistics: statistics, problems: problems,
                                tables: visited)
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

    /// Leaf attribute bits that matter (AttrIndx..nG, DBM..UXN), with the
    /// inherited table bits folded into the ignored top bits 63:59 as a cache key.
    private func attributes(raw: UInt64, inherited: TableAttributes) -> MappingAttributes {
        let leafMask: UInt64 = 0x0FFC | (0xF << 51)
        var key = raw & leafMask
        if inherited.pxnTable { key |= 1 << 59 }
        if inherited.uxnTable { key |= 1 << 60 }
        if inherited.noEL0Access { key |= 1 << 61 }
        if inherited.readOnly { key |= 1 << 62 }
        if inherited.nsTable { key |= 1 << 63 }
        if let cached = attributeCache[key] { return cached }
        let attributes = MappingAttributes(leaf: LeafAttributes(raw: raw), inherited: inherited, memoryTypes: memoryTypes,
                                           writeImpliesExecuteNever: context.sctlr.writeImpliesExecuteNever)
        attributeCache[key] = attributes
        return attributes
    }
}
