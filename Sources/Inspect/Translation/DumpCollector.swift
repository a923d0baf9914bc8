import GdbRemote

/// A table the dump has queued: where it is, which VAs it translates and
/// what the tables above it restrict.
struct PendingTable {
    var space: Int
    var config: HalfConfiguration
    var level: Int
    var table: UInt64
    var entries: Int
    var virtualBase: UInt64
    /// Accumulated APTable/UXNTable/PXNTable/NSTable, at their descriptor bit positions 63:59.
    var inheritedBits: UInt64
}

/// One address space's dump as the breadth-first walk collects it, table by
/// table. The descriptor loop is the hot path of a dump (a 512 MiB guest's
/// linear map alone is 130,000 pages): a leaf costs a few integer operations
/// and extends the open `CompactRun`; anything unusual (a table, a malformed
/// descriptor, a cap reached, a new run) leaves the fast path.
struct DumpCollector {
    /// A table per half: the same table under both halves is walked under each.
    struct SeenTable: Hashable { var half: UInt8; var address: UInt64 }

    var statistics = DumpStatistics()
    private var problems: [WalkProblem] = []
    private var visited: [VisitedTable] = []
    /// Finished rounds' runs, each in VA order because the frontier is.
    private var rounds: [[CompactRun]] = []
    /// This round's runs so far; the last one is still open.
    private var currentRound: [CompactRun] = []
    private var interned = AttributeInterner()
    /// Level at which each table (per half) was first queued: a second
    /// reference is a repeated table (same level) or a loop (other level).
    var seenTables: [SeenTable: Int] = [:]
    private var leafCount = 0
    private var problemsDropped = 0
    private var tablesCapped = false
    private var leavesCapped = false

    /// Records `table` and decodes its descriptors (`content` is what the read returned).
    mutating func walk(_ table: PendingTable, content: Result<[UInt8], MemoryError>, walker: TranslationTableWalker,
                       limits: DumpLimits, queueing next: inout [PendingTable]) {
        statistics.tablesPerLevel[table.level] += 1
        visited.append(VisitedTable(half: table.config.half, level: table.level, address: table.table, virtualBase: table.virtualBase))
        statistics.tableBytes += UInt64(table.entries * 8)
        switch content {
        case .success(let bytes):
            bytes.withUnsafeBytes { descriptors in
                decode(descriptors, of: table, walker: walker, limits: limits, queueing: &next)
            }
        case .failure(let error):
            report("table cannot be read: \(error)", table: table, index: 0, virtualAddress: table.virtualBase, raw: 0, limit: limits.problems)
        }
    }

    /// Closes the round: its runs are complete (the next round's tables are a level down, elsewhere in VA).
    mutating func endRound() {
        guard !currentRound.isEmpty else { return }
        rounds.append(currentRound)
        currentRound = []
    }

    /// The finished dump.
    func dump(registers: TranslationRegisters) -> AddressSpaceDump {
        var statistics = statistics
        var problems = problems
        let runs = CompactRun.runs(mergingSortedRounds: rounds, attributes: interned.table)
        statistics.runs = runs.count
        statistics.problems = problems.count + problemsDropped
        if problemsDropped > 0, let last = problems.last {
            problems.append(WalkProblem(half: last.half, level: last.level, tableAddress: last.tableAddress, index: last.index,
                                        virtualAddress: last.virtualAddress, raw: last.raw,
                                        detail: "\(problemsDropped) more problems not listed (DumpLimits.problems)"))
        }
        return AddressSpaceDump(registers: registers, runs: runs, statistics: statistics, problems: problems, tables: visited)
    }

    private mutating func decode(_ descriptors: UnsafeRawBufferPointer, of table: PendingTable, walker: TranslationTableWalker,
                                 limits: DumpLimits, queueing next: inout [PendingTable]) {
        let granule = table.config.granule
        let level = table.level
        let physicalAddressBits = walker.context.physicalAddressBits
        let outputLimit: UInt64 = physicalAddressBits >= 48 ? UInt64.max : (UInt64(1) << UInt64(physicalAddressBits)) - 1
        let shift = UInt64(granule.shift(atLevel: level))
        let entrySize = UInt64(1) << shift
        let tableAddressMask = DescriptorFields.addressBits(UInt64.max, lowestBit: granule.pageShift)
        let leafAddressMask = DescriptorFields.addressBits(UInt64.max, lowestBit: Int(shift))
        let blockAllowed = granule.allowsBlock(atLevel: level)
        let halfCode: UInt8 = table.config.half == .lower ? 0 : 1
        // The round's last run stays open: a mapping that carries on from the previous table extends it.
        var run = currentRound.popLast() ?? .placeholder
        var leavesHere = 0
        for index in 0..<table.entries {
            let raw = UInt64(littleEndian: descriptors.loadUnaligned(fromByteOffset: index &* 8, as: UInt64.self))
            guard raw & 1 != 0 else { continue }
            let va = table.virtualBase &+ (UInt64(index) << shift)
            let isTableOrPage = raw & 2 != 0
            let isTable = isTableOrPage && level < 3
            let address = raw & (isTable || level == 3 ? tableAddressMask : leafAddressMask)
            guard (isTableOrPage || blockAllowed) && address <= outputLimit else {
                // Rare: the full decoder words the problem.
                let descriptor = DecodedDescriptor(raw: raw, level: level, granule: granule, physicalAddressBits: physicalAddressBits)
                report(descriptor.problem ?? "reserved descriptor", table: table, index: index, virtualAddress: va, raw: raw,
                       limit: limits.problems)
                continue
            }
            if isTable {
                follow(address, from: table, index: index, virtualAddress: va, raw: raw, limits: limits, queueing: &next)
                continue
            }
            guard leafCount < limits.leaves else {
                if !leavesCapped {
                    leavesCapped = true
                    statistics.limitReached = true
                    report("dump stopped recording leaves: more than \(limits.leaves) blocks and pages (DumpLimits.leaves)",
                           table: table, index: index, virtualAddress: va, raw: raw, limit: limits.problems)
                }
                continue
            }
            leafCount += 1
            leavesHere += 1
            let key = AttributeInterner.key(raw: raw, inheritedBits: table.inheritedBits)
            if run.isContinued(half: halfCode, size: entrySize, key: key, virtualAddress: va, physicalAddress: address) {
                run.extend(byLeaves: 1)
            } else {
                if !run.isPlaceholder { currentRound.append(run) }
                let attributes = interned.index(key: key) { key in walker.attributes(raw: raw, inheritedBits: key & (0x1F << 59)) }
                run = CompactRun(half: halfCode, level: level, virtualAddress: va, physicalAddress: address, size: entrySize,
                                 key: key, attributes: attributes)
            }
        }
        if !run.isPlaceholder { currentRound.append(run) }
        if level == 3 { statistics.pages += leavesHere } else { statistics.blocksPerLevel[level] += leavesHere }
        statistics.mappedBytes &+= entrySize &* UInt64(leavesHere)
    }

    /// Queues the table a descriptor names, unless this walk already has it
    /// (repeated or a loop: reported, not walked again) or the cap is reached.
    private mutating func follow(_ address: UInt64, from table: PendingTable, index: Int, virtualAddress: UInt64, raw: UInt64,
                                 limits: DumpLimits, queueing next: inout [PendingTable]) {
        let level = table.level
        let seen = SeenTable(half: table.config.half == .lower ? 0 : 1, address: address)
        if let firstLevel = seenTables[seen] {
            report(firstLevel == level + 1
                   ? "L\(level + 1) table \(Hex.format(address)) is already walked from another descriptor (repeated table, not walked again)"
                   : "table \(Hex.format(address)) is already an L\(firstLevel) table of this walk (loop, not walked again)",
                   table: table, index: index, virtualAddress: virtualAddress, raw: raw, limit: limits.problems)
            return
        }
        guard seenTables.count < limits.tables else {
            if !tablesCapped {
                tablesCapped = true
                statistics.limitReached = true
                report("dump stopped following tables: more than \(limits.tables) tables (DumpLimits.tables)",
                       table: table, index: index, virtualAddress: virtualAddress, raw: raw, limit: limits.problems)
            }
            return
        }
        seenTables[seen] = level + 1
        let tableBitsKept: UInt64 = table.config.hierarchicalPermissionsDisabled ? 1 << 63 : 0x1F << 59
        next.append(PendingTable(space: table.space, config: table.config, level: level + 1, table: address,
                                 entries: table.config.granule.entriesPerTable, virtualBase: virtualAddress,
                                 inheritedBits: table.inheritedBits | (raw & tableBitsKept)))
    }

    private mutating func report(_ detail: String, table: PendingTable, index: Int, virtualAddress: UInt64, raw: UInt64, limit: Int) {
        guard problems.count < limit else {
            problemsDropped += 1
            return
        }
        problems.append(WalkProblem(half: table.config.half, level: table.level, tableAddress: table.table, index: index,
                                    virtualAddress: virtualAddress, raw: raw, detail: detail))
    }
}
