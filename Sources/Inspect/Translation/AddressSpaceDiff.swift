import GdbRemote

/// One difference between two dumps of an address space.
public struct AddressSpaceChange: Codable, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Codable, Sendable {
        /// Mapped now, not before.
        case mapped
        /// Mapped before, not now.
        case unmapped
        /// Mapped in both, to a different physical address.
        case remapped
        /// Same physical address, different attributes (permissions, type, ...).
        case attributesChanged
    }

    public var kind: Kind
    public var virtualStart: UInt64
    public var size: UInt64
    public var oldPhysicalStart: UInt64?
    public var newPhysicalStart: UInt64?
    public var oldAttributes: MappingAttributes?
    public var newAttributes: MappingAttributes?

    /// `mapped 0x400000+0x1000 -> 0x41234000 k:rw- u:rw- ...`.
    public var description: String {
        let range = "\(Hex.format(virtualStart))+\(Hex.format(size))"
        // A change decoded from JSON may lack a side: print "?" rather than trap.
        let oldPA = oldPhysicalStart.map(Hex.format) ?? "?", newPA = newPhysicalStart.map(Hex.format) ?? "?"
        let oldAttr = oldAttributes?.description ?? "?", newAttr = newAttributes?.description ?? "?"
        switch kind {
        case .mapped: return "mapped \(range) -> \(newPA) \(newAttr)"
        case .unmapped: return "unmapped \(range) (was \(oldPA) \(oldAttr))"
        case .remapped: return "remapped \(range): \(oldPA) -> \(newPA)"
        case .attributesChanged: return "changed \(range): \(oldAttr) -> \(newAttr)"
        }
    }
}

extension AddressSpaceDump {
    /// What changed from `old` to `self`: every VA interval whose mapping
    /// appeared, disappeared, moved or changed attributes, merged into runs.
    public func changes(since old: AddressSpaceDump) -> [AddressSpaceChange] {
        // Sweep the union of run boundaries; each elementary interval lies in at
        // most one run of each dump.
        var boundaries: [UInt64] = []
        boundaries.reserveCapacity(2 * (runs.count + old.runs.count))
        for run in runs + old.runs {
            boundaries.append(run.virtualStart)
            if run.virtualLast != .max { boundaries.append(run.virtualLast + 1) }
        }
        boundaries.sort()
        var unique: [UInt64] = []
        for b in boundaries where unique.last != b { unique.append(b) }

        var changes: [AddressSpaceChange] = []
        var oldIndex = 0, newIndex = 0
        for (i, start) in unique.enumerated() {
            let last = i + 1 < unique.count ? unique[i + 1] - 1 : UInt64.max
            while oldIndex < old.runs.count && old.runs[oldIndex].virtualLast < start { oldIndex += 1 }
            while newIndex < runs.count && runs[newIndex].virtualLast < start { newIndex += 1 }
            let before = oldIndex < old.runs.count && old.runs[oldIndex].virtualStart <= start ? old.runs[oldIndex] : nil
            let after = newIndex < runs.count && runs[newIndex].virtualStart <= start ? runs[newIndex] : nil
            if before == nil && after == nil { continue }
            let oldPA = before.map { $0.physicalStart &+ (start - $0.virtualStart) }
            let newPA = after.map { $0.physicalStart &+ (start - $0.virtualStart) }
            let kind: AddressSpaceChange.Kind
            switch (before, after) {
            case (nil, _): kind = .mapped
            case (_, nil): kind = .unmapped
            case (let b?, let a?):
                if oldPA != newPA { kind = .remapped }
                else if b.attributes != a.attributes { kind = .attributesChanged }
                else { continue }
            }
            let change = AddressSpaceChange(kind: kind, virtualStart: start, size: last &- start &+ 1,
                                            oldPhysicalStart: oldPA, newPhysicalStart: newPA,
                                            oldAttributes: before?.attributes, newAttributes: after?.attributes)
            if let previous = changes.last, previous.continues(into: change) {
                changes[changes.count - 1].size &+= change.size
            } else {
                changes.append(change)
            }
        }
        return changes
    }
}

extension AddressSpaceChange {
    /// Whether `next` extends this change seamlessly (same kind, attributes, PA continuity).
    func continues(into next: AddressSpaceChange) -> Bool {
        func follows(_ a: UInt64?, _ b: UInt64?) -> Bool {
            switch (a, b) {
            case (nil, nil): return true
            case (let x?, let y?): return y == x &+ size
            default: return false
            }
        }
        return next.kind == kind && next.virtualStart == virtualStart &+ size
            && next.oldAttributes == oldAttributes && next.newAttributes == newAttributes
            && follows(oldPhysicalStart, next.oldPhysicalStart) && follows(newPhysicalStart, next.newPhysicalStart)
    }
}
