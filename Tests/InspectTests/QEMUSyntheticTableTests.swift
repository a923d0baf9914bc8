import GdbRemote
import Foundation
import Testing
import Inspect
import TestSupport

/// Synthetic tables of every granule and several input sizes, written into a
/// real guest that turns its MMU on with them: Inspect's walk must agree with
/// QEMU's (`gva2gpa`) on every probe, mapped or not.
@Suite("Synthetic tables of every granule against QEMU's walker", .serialized)
struct QEMUSyntheticTableSystemTests {
    /// Cortex-A53 implements the 4K and 64K granules; 16K needs `-cpu max`.
    static let shapes: [(TranslationGranule, Int, String)] = [
        (.size4KiB, 48, "cortex-a53"), (.size4KiB, 39, "cortex-a53"),
        (.size64KiB, 48, "cortex-a53"), (.size64KiB, 42, "cortex-a53"),
        (.size16KiB, 48, "max"), (.size16KiB, 36, "max"),
    ]

    /// `MMDBG_LAYOUT_SEED=<decimal or 0x hex>` replays the layout a failure named.
    static var replayedSeed: UInt64? {
        guard let text = ProcessInfo.processInfo.environment["MMDBG_LAYOUT_SEED"] else { return nil }
        return text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }

    @Test(arguments: shapes)
    func inspectAndQEMUTranslateAlike(granule: TranslationGranule, inputBits: Int, cpu: String) throws {
        let layout = RandomTableLayout(granule: granule, inputBits: inputBits, seed: Self.replayedSeed ?? UInt64.random(in: 0...UInt64.max))
        let shape = "\(granule.rawValue)/\(inputBits) seed \(Hex.format(layout.seed))"
        let (qemu, client) = try MMUGuest.start(cpu: cpu, memory: layout.space.memory, registers: layout.space.registers)
        defer { client.close(); qemu.stop() }
        let source = GdbMemorySource(client: client)
        let context = TranslationContext(registers: try TranslationRegisters.read(from: client))
        #expect(context.lower.granule == granule && context.upper.granule == granule)
        #expect(context.lower.inputBits == inputBits)
        let walker = TranslationTableWalker(memory: CachingMemorySource(source), context: context)
        let ours = try source.withPhysicalMode { () throws(TranslationError) in try walker.translate(layout.probes) }
        var mapped = 0
        for (va, translation) in zip(layout.probes, ours) {
            let theirs = try client.qemuTranslation(va)
            #expect(translation.isMapped == (theirs != nil), "\(shape) VA \(Hex.format(va)): ours \(translation.fault?.description ?? "mapped"), QEMU \(theirs.map(Hex.format) ?? "unmapped")")
            if let theirs, translation.isMapped {
                #expect(translation.physicalAddress == theirs, "\(shape) VA \(Hex.format(va))")
                mapped += 1
            }
        }
        #expect(mapped >= 30, "\(shape)")
        #expect(ours.last?.fault?.kind == .malformedDescriptor, "\(shape)")
        let dump = try source.withPhysicalMode { () throws(TranslationError) in try walker.dump() }
        #expect(dump.problems.map(\.virtualAddress) == [layout.reserved], "\(shape)")
        #expect(dump.statistics.tables == layout.tablesBuilt, "\(shape)")
    }

    /// The layouts above are random: over many seeds, every table built must
    /// stay reachable (a random page under a block's slot would orphan the
    /// tables built for it, and the QEMU test would then count fewer).
    @Test(arguments: shapes.map { ($0.0, $0.1) })
    func everyRandomLayoutKeepsItsTablesReachable(granule: TranslationGranule, inputBits: Int) throws {
        var orphaning: [String] = []
        for seed in UInt64(1)...150 {
            let layout = RandomTableLayout(granule: granule, inputBits: inputBits, seed: seed)
            let dump = try layout.space.walker().dump()
            if dump.statistics.tables != layout.tablesBuilt || dump.problems.map(\.virtualAddress) != [layout.reserved] {
                orphaning.append("seed \(seed): \(dump.statistics.tables) of \(layout.tablesBuilt) tables reached")
            }
        }
        #expect(orphaning.isEmpty, "\(granule.rawValue)/\(inputBits): \(orphaning.count) of 150 layouts: \(orphaning.prefix(5))")
    }
}
