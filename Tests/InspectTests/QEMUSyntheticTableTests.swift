import Testing
import Inspect
import TestSupport

/// Synthetic tables of every granule and several input sizes, written into a
/// real guest that turns its MMU on with them: Inspect's walk must agree with
/// QEMU's (`gva2gpa`) on every probe, mapped or not.
@Suite("Synthetic tables of every granule against QEMU's walker", .serialized)
struct QEMUSyntheticTableTests {
    /// Cortex-A53 implements the 4K and 64K granules; 16K needs `-cpu max`.
    static let shapes: [(TranslationGranule, Int, String)] = [
        (.size4KiB, 48, "cortex-a53"), (.size4KiB, 39, "cortex-a53"),
        (.size64KiB, 48, "cortex-a53"), (.size64KiB, 42, "cortex-a53"),
        (.size16KiB, 48, "max"), (.size16KiB, 36, "max"),
    ]

    @Test(arguments: shapes)
    func inspectAndQEMUTranslateAlike(granule: TranslationGranule, inputBits: Int, cpu: String) throws {
        var space = SyntheticAddressSpace(granule: granule, inputBits: inputBits)
        space.ips = 2   // 40-bit output addresses
        let page = granule.pageSize
        let halfSize = UInt64(1) << UInt64(inputBits)
        var generator = SystemRandomNumberGenerator()
        func randomPage(below limit: UInt64) -> UInt64 { UInt64.random(in: 0..<(limit / page), using: &generator) * page }
        // The guest's code page, identity-mapped and executable at EL1.
        space.lower.map(MMUGuest.entry & ~(page - 1), to: MMUGuest.entry & ~(page - 1), leafLevel: 3, attributes: Bits.af | Bits.shInner)
        var probes: [UInt64] = [MMUGuest.mmuOn]
        let attributes = [Bits.kernelData, Bits.userData, Bits.userText, Bits.af | Bits.attrDevice | Bits.pxn | Bits.uxn]
        for i in 0..<12 {
            for (tables, base) in [(space.lower, UInt64(0)), (space.upper, space.upperBase)] {
                let va = base + randomPage(below: halfSize)
                tables.map(va, to: randomPage(below: 1 << 40), leafLevel: 3, attributes: attributes[i % attributes.count])
                probes += [va + UInt64.random(in: 0..<page, using: &generator), va &+ page]   // inside, and (usually) unmapped next door
            }
        }
        // Edges of both halves.
        for (tables, va) in [(space.lower, halfSize - page), (space.upper, space.upperBase), (space.upper, UInt64.max - page + 1)] {
            tables.map(va, to: randomPage(below: 1 << 40), leafLevel: 3, attributes: Bits.kernelData)
            probes += [va, va + (page - 1)]
        }
        // A block at every level that allows one (and fits), in each half.
        for level in granule.startLevel(inputBits: inputBits)..<3 where granule.allowsBlock(atLevel: level) {
            let size = UInt64(1) << UInt64(granule.shift(atLevel: level))
            guard 8 * size <= halfSize else { continue }
            for (tables, base) in [(space.lower, UInt64(0)), (space.upper, space.upperBase)] {
                let va = base + 5 * size
                tables.map(va, to: 3 * size, leafLevel: level, attributes: Bits.kernelData)
                probes += [va, va + size / 3, va + size - 1]
            }
        }
        // A reserved descriptor: neither walker may translate through it.
        let reserved = space.upperBase + 7 * page
        space.upper.setDescriptor(reserved, level: 3, raw: 0x4000_0000 | Bits.af | 1)
        probes.append(reserved + 8)

        let (qemu, client) = try MMUGuest.start(cpu: cpu, memory: space.memory, registers: space.registers)
        defer { client.close(); qemu.stop() }
        let source = GdbMemorySource(client: client)
        let context = TranslationContext(registers: try TranslationRegisters.read(from: client))
        #expect(context.lower.granule == granule && context.upper.granule == granule)
        #expect(context.lower.inputBits == inputBits)
        let walker = TranslationTableWalker(memory: CachingMemorySource(source), context: context)
        let ours = try source.withPhysicalMode { () throws(TranslationError) in try walker.translate(probes) }
        var mapped = 0
        for (va, translation) in zip(probes, ours) {
            let theirs = try? client.qemu.translate(virtualAddress: va)
            #expect(translation.isMapped == (theirs != nil), "\(granule.rawValue)/\(inputBits) VA \(hex(va)): ours \(translation.fault?.description ?? "mapped"), QEMU \(theirs.map(hex) ?? "unmapped")")
            if let theirs, translation.isMapped {
                #expect(translation.physicalAddress == theirs, "\(granule.rawValue)/\(inputBits) VA \(hex(va))")
                mapped += 1
            }
        }
        #expect(mapped >= 30)
        #expect(ours.last?.fault?.kind == .malformedDescriptor)
        let dump = try source.withPhysicalMode { () throws(TranslationError) in try walker.dump() }
        #expect(dump.problems.map(\.virtualAddress) == [reserved])
        #expect(dump.statistics.tables == space.lower.tableCount + space.upper.tableCount)
    }
}
