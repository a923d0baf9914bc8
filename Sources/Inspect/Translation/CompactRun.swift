/// Leaves merged while the dump walks: consecutive blocks or pages with the
/// same half, size and attribute bits, contiguous in VA and PA. A table of
/// 512 pages mapping one buffer becomes one value instead of 512, and a run
/// stays open across the tables of a round so it can continue into the next.
///
/// Attributes are compared as the raw descriptor bits that determine them
/// (`key`), so a leaf costs a few integer compares; they are resolved to
/// `MappingAttributes` only when a run starts (through `AttributeInterner`).
struct CompactRun {
    var virtualStart: UInt64
    var physicalStart: UInt64
    /// One past the last byte, wrapping to 0 at the top of the VA space.
    var virtualEnd: UInt64
    var physicalEnd: UInt64
    var leafSize: UInt64
    var leafCount: Int
    /// Leaf attribute bits and inherited table bits (`AttributeInterner.key`).
    var key: UInt64
    /// Index of the resolved attributes in the space's `AttributeInterner`.
    var attributes: Int32
    var level: UInt8
    /// 0 lower, 1 upper.
    var half: UInt8

    /// A run of one leaf.
    init(half: UInt8, level: Int, virtualAddress: UInt64, physicalAddress: UInt64, size: UInt64, key: UInt64, attributes: Int32) {
        virtualStart = virtualAddress
        physicalStart = physicalAddress
        virtualEnd = virtualAddress &+ size
        physicalEnd = physicalAddress &+ size
        leafSize = size
        leafCount = 1
        self.key = key
        self.attributes = attributes
        self.level = UInt8(level)
        self.half = half
    }

    /// A placeholder that nothing continues (it ends at VA 0) and no leaf equals.
    static let placeholder = CompactRun(half: 0xFF, level: 0, virtualAddress: 0, physicalAddress: 0, size: 0, key: 0, attributes: -1)

    var isPlaceholder: Bool { half == CompactRun.placeholder.half }

    /// Whether a leaf (or a run) of `size`-byte leaves at `virtualAddress` ->
    /// `physicalAddress` carries on this run: same half, leaf size and
    /// attribute bits, contiguous in VA and PA, and this run does not end at
    /// the top of the VA space.
    @inline(__always)
    func isContinued(half: UInt8, size: UInt64, key: UInt64, virtualAddress: UInt64, physicalAddress: UInt64) -> Bool {
        virtualEnd == virtualAddress && physicalEnd == physicalAddress && self.key == key && leafSize == size
            && self.half == half && virtualEnd != 0
    }

    /// Appends `count` more leaves: the next leaf, or a run that carries on
    /// this one (the caller checked `isContinued`).
    @inline(__always)
    mutating func extend(byLeaves count: Int) {
        leafCount += count
        virtualEnd &+= leafSize &* UInt64(count)
        physicalEnd &+= leafSize &* UInt64(count)
    }

    /// Merges per-round run lists (each in VA order, and no two rounds
    /// covering the same VA) and then the runs that continue one another
    /// across tables of different rounds.
    static func runs(mergingSortedRounds rounds: [[CompactRun]], attributes: [MappingAttributes]) -> [MappingRun] {
        var merged: [CompactRun] = []
        for round in rounds where !round.isEmpty {
            merged = merged.isEmpty ? round : mergeSorted(merged, round)
        }
        var runs: [MappingRun] = []
        var current = CompactRun.placeholder
        for run in merged {
            if current.isContinued(half: run.half, size: run.leafSize, key: run.key, virtualAddress: run.virtualStart,
                                   physicalAddress: run.physicalStart) {
                current.extend(byLeaves: run.leafCount)
            } else {
                if !current.isPlaceholder { runs.append(current.mappingRun(attributes)) }
                current = run
            }
        }
        if !current.isPlaceholder { runs.append(current.mappingRun(attributes)) }
        return runs
    }

    private func mappingRun(_ attributes: [MappingAttributes]) -> MappingRun {
        MappingRun(half: half == 0 ? .lower : .upper, virtualStart: virtualStart, size: leafSize * UInt64(leafCount),
                   physicalStart: physicalStart, leafLevel: Int(level), leafSize: leafSize, leafCount: leafCount,
                   attributes: attributes[Int(self.attributes)])
    }

    private static func mergeSorted(_ a: [CompactRun], _ b: [CompactRun]) -> [CompactRun] {
        var out: [CompactRun] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i].virtualStart <= b[j].virtualStart { out.append(a[i]); i += 1 } else { out.append(b[j]); j += 1 }
        }
        out += a[i...]
        out += b[j...]
        return out
    }
}

/// Interns leaf attributes by the descriptor bits that determine them, with a
/// one-entry memo because neighbouring runs often share them.
struct AttributeInterner {
    /// AttrIndx, NS, AP, SH, AF, nG (bits 11:2) and DBM, Contiguous, PXN, UXN (54:51).
    static let leafMask: UInt64 = 0x0FFC | (0xF << 51)
    private var indexByKey: [UInt64: Int32] = [:]
    private(set) var table: [MappingAttributes] = []
    private var lastKey = UInt64.max
    private var lastIndex: Int32 = -1

    /// What determines a leaf's `MappingAttributes`: its own attribute bits
    /// and the hierarchical table bits inherited from above (at 63:59, which
    /// a leaf's own bits never use).
    @inline(__always)
    static func key(raw: UInt64, inheritedBits: UInt64) -> UInt64 {
        raw & leafMask | inheritedBits
    }

    mutating func index(key: UInt64, make: (UInt64) -> MappingAttributes) -> Int32 {
        if key == lastKey { return lastIndex }
        let index: Int32
        if let known = indexByKey[key] {
            index = known
        } else {
            index = Int32(table.count)
            table.append(make(key))
            indexByKey[key] = index
        }
        lastKey = key
        lastIndex = index
        return index
    }
}
