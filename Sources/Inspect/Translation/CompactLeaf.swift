/// A block or page as the dump collects it: 40 bytes, attributes interned,
/// so tens of thousands of leaves cost no reference counting.
struct CompactLeaf {
    var virtualAddress: UInt64
    var physicalAddress: UInt64
    var size: UInt64
    var attributes: Int32
    var level: UInt8
    /// 0 lower, 1 upper.
    var half: UInt8

    /// Merges per-round leaf lists (each already in VA order) and then
    /// adjacent leaves with the same half, size and attributes and contiguous
    /// VA and PA into runs.
    static func runs(mergingSortedRounds rounds: [[CompactLeaf]], attributes: [MappingAttributes]) -> [MappingRun] {
        var merged: [CompactLeaf] = []
        for round in rounds where !round.isEmpty {
            merged = merged.isEmpty ? round : mergeSorted(merged, round)
        }
        var runs: [MappingRun] = []
        var i = 0
        while i < merged.count {
            let first = merged[i]
            var count = 1
            while i + count < merged.count {
                let previous = merged[i + count - 1], next = merged[i + count]
                guard next.half == first.half, next.size == first.size, next.attributes == first.attributes,
                      previous.virtualAddress &+ previous.size == next.virtualAddress, previous.virtualAddress &+ previous.size != 0,
                      previous.physicalAddress &+ previous.size == next.physicalAddress else { break }
                count += 1
            }
            runs.append(MappingRun(half: first.half == 0 ? .lower : .upper, virtualStart: first.virtualAddress,
                                   size: first.size * UInt64(count), physicalStart: first.physicalAddress,
                                   leafLevel: Int(first.level), leafSize: first.size, leafCount: count,
                                   attributes: attributes[Int(first.attributes)]))
            i += count
        }
        return runs
    }

    private static func mergeSorted(_ a: [CompactLeaf], _ b: [CompactLeaf]) -> [CompactLeaf] {
        var out: [CompactLeaf] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count && j < b.count {
            if a[i].virtualAddress <= b[j].virtualAddress { out.append(a[i]); i += 1 } else { out.append(b[j]); j += 1 }
        }
        out += a[i...]
        out += b[j...]
        return out
    }
}

/// Interns leaf attributes by the descriptor bits that determine them, with a
/// one-entry memo because neighbouring leaves nearly always share them.
struct AttributeInterner {
    /// AttrIndx, NS, AP, SH, AF, nG (bits 11:2) and DBM, Contiguous, PXN, UXN (54:51).
    static let leafMask: UInt64 = 0x0FFC | (0xF << 51)
    private var indexByKey: [UInt64: Int32] = [:]
    private(set) var table: [MappingAttributes] = []
    private var lastKey = UInt64.max
    private var lastIndex: Int32 = -1

    mutating func index(raw: UInt64, inheritedBits: UInt64, make: (UInt64) -> MappingAttributes) -> Int32 {
        let key = raw & AttributeInterner.leafMask | inheritedBits
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
