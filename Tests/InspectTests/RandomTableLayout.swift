import Inspect
import TestSupport

/// A random address space for one granule and input size, with the probes
/// that judge a walker on it: random pages in both halves (and the page next
/// door), the edges of both halves, a block at every level that allows one,
/// and one reserved descriptor. The guest's code page is identity-mapped so
/// `MMUGuest` can turn its MMU on with these tables.
struct RandomTableLayout {
    var space: SyntheticAddressSpace
    var probes: [UInt64]
    /// The VA whose level-3 descriptor is reserved (valid, bit 1 clear).
    let reserved: UInt64
    let seed: UInt64

    /// Every draw comes from `seed`, so a failure names a layout that can be replayed.
    init(granule: TranslationGranule, inputBits: Int, seed: UInt64) {
        self.seed = seed
        space = SyntheticAddressSpace(granule: granule, inputBits: inputBits)
        space.ips = 2   // 40-bit output addresses
        var generator = SeededGenerator(seed: seed)
        let page = granule.pageSize
        let halfSize = UInt64(1) << UInt64(inputBits)
        func randomPage(below limit: UInt64) -> UInt64 { UInt64.random(in: 0..<(limit / page), using: &generator) * page }

        // The fixed mappings are chosen first so the random pages can keep out
        // of them: a random page inside a block's range would build tables
        // under the block's slot, and the block would then cut them off (they
        // stay allocated, so the walk would count fewer tables than were built).
        let codePage = MMUGuest.entry & ~(page - 1)
        var fixedLeaves: [(tables: SyntheticTranslationTables, va: UInt64, level: Int)] = []
        for (tables, va) in [(space.lower, halfSize - page), (space.upper, space.upperBase), (space.upper, UInt64.max - page + 1)] {
            fixedLeaves.append((tables, va, 3))
        }
        for level in granule.startLevel(inputBits: inputBits)..<3 where granule.allowsBlock(atLevel: level) {
            let size = UInt64(1) << UInt64(granule.shift(atLevel: level))
            guard 8 * size <= halfSize else { continue }
            for (tables, base) in [(space.lower, UInt64(0)), (space.upper, space.upperBase)] {
                fixedLeaves.append((tables, base + 5 * size, level))
            }
        }
        reserved = space.upperBase + 7 * page
        let taken: [ClosedRange<UInt64>] = ([(codePage, 3), (reserved, 3)] + fixedLeaves.map { ($0.va, $0.level) }).map { va, level in
            va...(va + ((UInt64(1) << UInt64(granule.shift(atLevel: level))) - 1))
        }

        // The guest's code page, identity-mapped and executable at EL1.
        space.lower.map(codePage, to: codePage, leafLevel: 3, attributes: Bits.af | Bits.shInner)
        probes = [MMUGuest.mmuOn]
        let attributes = [Bits.kernelData, Bits.userData, Bits.userText, Bits.af | Bits.attrDevice | Bits.pxn | Bits.uxn]
        for i in 0..<12 {
            for (tables, base) in [(space.lower, UInt64(0)), (space.upper, space.upperBase)] {
                var va: UInt64
                repeat { va = base + randomPage(below: halfSize) } while taken.contains { $0.contains(va) }
                tables.map(va, to: randomPage(below: 1 << 40), leafLevel: 3, attributes: attributes[i % attributes.count])
                probes += [va + UInt64.random(in: 0..<page, using: &generator), va &+ page]   // inside, and (usually) unmapped next door
            }
        }
        for leaf in fixedLeaves {
            leaf.tables.map(leaf.va, to: leaf.level == 3 ? randomPage(below: 1 << 40) : 3 * (UInt64(1) << UInt64(granule.shift(atLevel: leaf.level))),
                            leafLevel: leaf.level, attributes: Bits.kernelData)
            if leaf.level == 3 {
                probes += [leaf.va, leaf.va + (page - 1)]   // edges of both halves
            } else {
                let size = UInt64(1) << UInt64(granule.shift(atLevel: leaf.level))
                probes += [leaf.va, leaf.va + size / 3, leaf.va + size - 1]
            }
        }
        // A reserved descriptor: neither walker may translate through it.
        space.upper.setDescriptor(reserved, level: 3, raw: 0x4000_0000 | Bits.af | 1)
        probes.append(reserved + 8)
    }

    /// Tables built for both halves: a walk of the whole space must reach each of them.
    var tablesBuilt: Int { space.lower.tableCount + space.upper.tableCount }
}
