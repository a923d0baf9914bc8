import GdbRemote

/// Adjacent leaves (same half, leaf size and attributes, contiguous in VA and
/// PA) merged into one line of a dump.
public struct MappingRun: Codable, Sendable, Hashable {
    public var half: TranslationHalf
    public var virtualStart: UInt64
    /// Bytes covered.
    public var size: UInt64
    public var physicalStart: UInt64
    public var leafLevel: Int
    /// Page or block size of each leaf.
    public var leafSize: UInt64
    public var leafCount: Int
    public var attributes: MappingAttributes

    /// Last VA covered (inclusive: the run may end at the top of the VA space).
    public var virtualLast: UInt64 { virtualStart &+ (size &- 1) }
    /// Last PA covered (inclusive).
    public var physicalLast: UInt64 { physicalStart &+ (size &- 1) }

    /// This run cut to `[first, last]`, or nil if they do not overlap.
    func clipped(to first: UInt64, _ last: UInt64) -> MappingRun? {
        guard size > 0, virtualStart <= last, virtualLast >= first else { return nil }
        let start = max(virtualStart, first), end = min(virtualLast, last)
        var copy = self
        // Runs may come from a decoded (untrusted) JSON dump: no arithmetic here may trap.
        copy.physicalStart = physicalStart &+ (start - virtualStart)
        copy.virtualStart = start
        copy.size = (end - start) &+ 1
        copy.leafCount = leafSize == 0 ? 0 : Int(clamping: (copy.size &- 1) / leafSize &+ 1)
        return copy
    }
}

/// A descriptor the walker refused to trust.
public struct WalkProblem: Codable, Sendable, Hashable, CustomStringConvertible {
    public var half: TranslationHalf
    public var level: Int
    public var tableAddress: UInt64
    public var index: Int
    /// First VA the descriptor would translate.
    public var virtualAddress: UInt64
    public var raw: UInt64
    public var detail: String

    /// `TTBR0 L2 table 0x40123000[5] (VA 0xa00000) = 0x...: why`.
    public var description: String {
        "\(half.rawValue) L\(level) table \(Hex.format(tableAddress))[\(index)] (VA \(Hex.format(virtualAddress))) = \(Hex.format(raw)): \(detail)"
    }
}

/// A table the walk read.
public struct VisitedTable: Codable, Sendable, Hashable {
    public var half: TranslationHalf
    public var level: Int
    /// Physical address.
    public var address: UInt64
    /// First VA the table translates.
    public var virtualBase: UInt64
}

/// Counts for one dump.
public struct DumpStatistics: Codable, Sendable, Hashable {
    /// Tables read at levels 0...3.
    public var tablesPerLevel = [0, 0, 0, 0]
    /// Block descriptors at levels 0...3.
    public var blocksPerLevel = [0, 0, 0, 0]
    /// Page descriptors (level 3).
    public var pages = 0
    /// Bytes of memory the tables occupy.
    public var tableBytes: UInt64 = 0
    /// Bytes of VA mapped.
    public var mappedBytes: UInt64 = 0
    public var runs = 0
    public var problems = 0
    /// Batched reads the walk needed (one per level when nothing was cached underneath).
    public var roundTrips = 0
    /// A `DumpLimits` cap stopped the walk early (a problem line says which).
    public var limitReached = false

    /// Every table read.
    public var tables: Int { tablesPerLevel.reduce(0, +) }
}

/// Caps on one address space's dump, so corrupted or hostile tables give a
/// clear problem line instead of exhausting memory. The defaults are far above
/// what any real table set in a 128 MiB guest produces.
public struct DumpLimits: Codable, Sendable, Hashable {
    /// Most tables walked per space (every distinct table counts once per half).
    public var tables: Int
    /// Most blocks and pages recorded per space.
    public var leaves: Int
    /// Most problem lines listed per space (the rest are counted in one line).
    public var problems: Int

    public init(tables: Int = 1 << 16, leaves: Int = 1 << 22, problems: Int = 4096) {
        self.tables = tables
        self.leaves = leaves
        self.problems = problems
    }

    /// 65,536 tables, 4 Mi leaves, 4,096 problem lines.
    public static let `default` = DumpLimits()
}

/// Which runs of a dump to show.
public struct DumpFilter: Codable, Sendable, Hashable {
    /// Who can access a run.
    public enum Privilege: String, Codable, Sendable {
        /// EL0 can read, write or execute it.
        case user
        /// Only EL1 can access it.
        case kernel
    }

    public var privilege: Privilege?
    /// true: only runs someone may write; false: only read-only runs.
    public var writable: Bool?
    /// true: only runs someone may execute; false: only execute-never runs.
    public var executable: Bool?
    /// Only the part of each run inside `[first, last]`.
    public var virtualFirst: UInt64?
    public var virtualLast: UInt64?

    public init(privilege: Privilege? = nil, writable: Bool? = nil, executable: Bool? = nil,
                virtualFirst: UInt64? = nil, virtualLast: UInt64? = nil) {
        self.privilege = privilege
        self.writable = writable
        self.executable = executable
        self.virtualFirst = virtualFirst
        self.virtualLast = virtualLast
    }

    func admits(_ run: MappingRun) -> Bool {
        if let privilege, (privilege == .user) != run.attributes.isUserAccessible { return false }
        if let writable, writable != run.attributes.isWritable { return false }
        if let executable, executable != run.attributes.isExecutable { return false }
        return true
    }
}

/// A whole address space: merged runs, walk statistics and the descriptors
/// that were reported rather than trusted.
public struct AddressSpaceDump: Codable, Sendable, Hashable {
    /// The registers the walk started from (TTBR0 may be a task's pgd).
    public var registers: TranslationRegisters
    /// Sorted by VA.
    public var runs: [MappingRun]
    public var statistics: DumpStatistics
    public var problems: [WalkProblem]
    /// Every table read, in walk order (level by level).
    public var tables: [VisitedTable]

    /// The runs that pass `filter`, clipped to its VA range.
    public func runs(matching filter: DumpFilter) -> [MappingRun] {
        let first = filter.virtualFirst ?? 0, last = filter.virtualLast ?? .max
        return runs.compactMap { run in
            guard filter.admits(run) else { return nil }
            return run.clipped(to: first, last)
        }
    }
}
