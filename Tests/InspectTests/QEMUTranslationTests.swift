import GdbRemote
import Testing
import Foundation
import Inspect
import KernelABI
import TestSupport

/// The walker against the real kernel under QEMU, checked against QEMU's own
/// translation (`gva2gpa`), stopped at power-off with `linear=pages` (a
/// page-granular linear map: 68 tables in the kernel half).
@Suite("Inspect against the real kernel under QEMU", .serialized)
struct QEMUTranslationSystemTests {
    /// A number printed by the kernel after `prefix` in its last line containing it.
    static func number(after prefix: String, in lines: [String]) -> UInt64? {
        guard let line = lines.last(where: { $0.contains(prefix) }),
              let range = line.range(of: prefix) else { return nil }
        let digits = line[range.upperBound...].prefix { $0.isHexDigit || $0 == "x" }
        return digits.hasPrefix("0x") ? UInt64(digits.dropFirst(2), radix: 16) : UInt64(digits)
    }

    /// Spread-out probes over every run (first byte, last byte, a few inside)
    /// plus addresses next to the runs that nothing maps.
    static func probes(for runs: [MappingRun]) -> [UInt64] {
        var probes: [UInt64] = []
        for run in runs {
            probes += [run.virtualStart, run.virtualLast, run.virtualStart &+ run.size / 2 + 0x123]
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<40 { probes.append(run.virtualStart + UInt64.random(in: 0..<run.size, using: &generator)) }
            if run.virtualStart >= 0x1000 { probes.append(run.virtualStart - 0x1000) }
            if run.virtualLast != .max { probes.append(run.virtualLast + 1) }
        }
        return probes
    }

    @Test func theKernelHalfMatchesGva2gpaOnManyAddresses() throws {
        let kernel = try StoppedKernel()
        defer { kernel.stop() }
        let context = try kernel.context()
        #expect(context.sctlr.mmuEnabled)
        #expect(context.upper.granule == .size4KiB && context.upper.startLevel == 0)
        let walker = TranslationTableWalker(memory: CachingMemorySource(kernel.memory), context: context)
        let dump = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.dump(halves: [.upper]) }
        // The kernel prints how many tables its linear map took.
        let printed = try #require(Self.number(after: "tables=", in: try kernel.consoleLines(waitingFor: "tables=")))
        #expect(UInt64(dump.statistics.tables) == printed)
        #expect(dump.statistics.roundTrips == 4)
        #expect(dump.problems.isEmpty)
        // The device window, then RAM in four W^X runs: below the image rw-, text r-x, rodata r--, the rest rw-.
        let device = MM_LINEAR_MAP_BASE + 0x0800_0000, ram = MM_LINEAR_MAP_BASE + MM_RAM_BASE
        let text = MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA
        #expect(dump.runs.count == 5)
        #expect(dump.runs.map(\.virtualStart).prefix(3) == [device, ram, text])
        #expect(dump.runs[0].size == 0x200_0000 && dump.runs[0].leafSize == 2 << 20)   // the device window keeps 2 MiB blocks
        #expect(dump.runs[0].attributes.memoryType.isDevice)
        let ramRuns = dump.runs.dropFirst()
        #expect(ramRuns.allSatisfy { $0.leafSize == 4096 && $0.attributes.user.description == "---" })
        #expect(zip(ramRuns, ramRuns.dropFirst()).allSatisfy { $0.virtualLast + 1 == $1.virtualStart }, "RAM runs are contiguous")
        #expect(ramRuns.reduce(0) { $0 + $1.size } == 128 << 20)
        #expect(ramRuns.map(\.attributes.kernel.description) == ["rw-", "r-x", "r--", "rw-"])

        let probes = Self.probes(for: dump.runs) + [MM_LINEAR_MAP_BASE, 0xFFFF_8000_0000_0000, UInt64.max & ~0xFFF]
        let ours = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.translate(probes) }
        var compared = 0, unmapped = 0
        for (va, translation) in zip(probes, ours) {
            let theirs = try kernel.qemuTranslation(va)
            #expect(translation.isMapped == (theirs != nil), "VA \(Hex.format(va)): ours \(translation.fault?.description ?? "mapped"), QEMU \(theirs.map(Hex.format) ?? "unmapped")")
            if let theirs, translation.isMapped {
                #expect(translation.physicalAddress == theirs, "VA \(Hex.format(va))")
                compared += 1
            } else if theirs == nil {
                unmapped += 1
            }
        }
        #expect(compared > 80)
        #expect(unmapped >= 3)
    }

    /// W^X on the running kernel (stopped in sys_fork, as issue 19 describes the old
    /// `k:rwx` linear map), with blocks and with pages: no kernel run is writable and
    /// executable, none is EL0-accessible, text is r-x, rodata r--, data rw-; QEMU agrees
    /// with every run's first page; and `check` finds nothing to say about the kernel half.
    @Test(arguments: ["tests=fork", "linear=pages tests=fork"])
    func theRunningKernelMapsItselfWriteXorExecute(append: String) throws {
        let kernel = try StoppedKernel(append: append, stopAt: "sys_fork")
        defer { kernel.stop() }
        let context = try kernel.context()
        let walker = TranslationTableWalker(memory: CachingMemorySource(kernel.memory), context: context)
        let dump = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.dump(halves: [.upper]) }
        #expect(dump.problems.isEmpty)
        #expect(dump.runs.count >= 5)
        for run in dump.runs {
            let a = run.attributes
            #expect(!(a.kernel.write && a.kernel.execute), "W+X kernel run \(Hex.format(run.virtualStart)) +\(Hex.format(run.size)): \(a)")
            #expect(!a.isUserAccessible, "EL0 reaches kernel run \(Hex.format(run.virtualStart)): \(a)")
        }
        func rights(of symbol: String) throws -> String {
            let va = try kernel.elf.address(of: symbol)
            let run = try #require(dump.runs.first { $0.virtualStart <= va && va <= $0.virtualLast }, "\(symbol) unmapped")
            return "k:\(run.attributes.kernel) u:\(run.attributes.user)"
        }
        #expect(try rights(of: "map_page") == "k:r-x u:---")       // text
        #expect(try rights(of: "mm_layout") == "k:r-- u:---")      // const: rodata
        #expect(try rights(of: "mm_pool") == "k:rw- u:---")        // bss
        #expect(try rights(of: "mm_tasks") == "k:rw- u:---")
        // Only the image's text is executable at all.
        let executable = dump.runs.filter { $0.attributes.isExecutable }
        #expect(executable.count == 1 && executable.first?.virtualStart == MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA)
        for run in dump.runs {
            let pa = try kernel.qemuTranslation(run.virtualStart)
            #expect(pa == run.physicalStart, "QEMU translates \(Hex.format(run.virtualStart)) to \(pa.map(Hex.format) ?? "nothing")")
        }
        let inspector = try KernelInspector(memory: CachingMemorySource(kernel.memory), symbols: try KernelSymbols(elf: kernel.elf),
                                            context: context)
        let report = try kernel.memory.withPhysicalMode { () throws(KernelInspectionError) in try ConsistencyChecker(inspector: inspector).run() }
        #expect(report.findings.isEmpty, "\(report.findings.map(\.description))")
    }

    @Test func aTaggedKernelAddressTranslatesLikeItsUntaggedForm() throws {
        let kernel = try StoppedKernel()
        defer { kernel.stop() }
        let context = try kernel.context()
        #expect(context.tcr.tbi1)
        let walker = TranslationTableWalker(memory: kernel.memory, context: context)
        let untagged = MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA + 0x1234
        let tagged = untagged & 0x00FF_FFFF_FFFF_FFFF | 0x5A00_0000_0000_0000
        let results = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.translate([untagged, tagged]) }
        #expect(results[0].physicalAddress == MM_KERNEL_LOAD_PA + 0x1234)
        #expect(results[1].physicalAddress == results[0].physicalAddress)
        #expect(results[1].half == .upper)
        #expect(try kernel.qemuTranslation(untagged) == results[0].physicalAddress)
    }

    @Test func vtopColdCostsOneRoundTripPerLevelAndWarmNone() throws {
        let kernel = try StoppedKernel()
        defer { kernel.stop() }
        let walker = TranslationTableWalker(memory: CachingMemorySource(kernel.memory), context: try kernel.context())
        let va = MM_LINEAR_MAP_BASE + MM_KERNEL_LOAD_PA + 0x10
        let (cold, warm) = try kernel.memory.withPhysicalMode { () throws(TranslationError) in
            let before = kernel.memory.exchanges
            let first = try walker.translate(va)
            let cold = kernel.memory.exchanges - before
            _ = try walker.translate(va + 8)
            return (cold, kernel.memory.exchanges - before - cold + (first.steps.count == 4 ? 0 : 100))
        }
        #expect(cold == 4)
        #expect(warm == 0)
    }

    @Test func aPTECorruptedThroughTheStubIsReportedAndAgreesWithQEMU() throws {
        let kernel = try StoppedKernel()
        defer { kernel.stop() }
        let cache = CachingMemorySource(kernel.memory)
        let walker = TranslationTableWalker(memory: cache, context: try kernel.context())
        let va = MM_LINEAR_MAP_BASE + 0x4700_0000    // RAM the kernel does not use at this point
        let before = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.translate(va) }
        let pte = try #require(before.steps.last)
        #expect(pte.level == 3)
        #expect(before.physicalAddress == 0x4700_0000)

        // Valid with bit 1 clear at level 3: reserved. Written through the stub, physically.
        try cache.write(littleEndianBytes(pte.descriptor.raw & ~2), to: pte.descriptorAddress, in: .physical)
        let broken = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.translate(va) }
        #expect(broken.fault?.kind == .malformedDescriptor)
        #expect(broken.fault?.level == 3)
        #expect(try kernel.qemuTranslation(va) == nil)
        let dump = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.dump(halves: [.upper]) }
        #expect(dump.problems.map(\.virtualAddress) == [va])
        #expect(dump.runs.count == 6)   // device + 4 W^X RAM runs, the last split around the broken page

        // Redirect it to another page: we and QEMU follow it to the same place.
        try cache.write(littleEndianBytes(pte.descriptor.raw + 0x5000), to: pte.descriptorAddress, in: .physical)
        let moved = try kernel.memory.withPhysicalMode { () throws(TranslationError) in try walker.translate(va + 0x10) }
        #expect(moved.physicalAddress == 0x4700_5010)
        #expect(try kernel.qemuTranslation(va + 0x10) == 0x4700_5010)
    }

    @Test func kernelViewsDecodeTheRealKernel() throws {
        let kernel = try StoppedKernel()
        defer { kernel.stop() }
        let inspector = try KernelInspector(memory: CachingMemorySource(kernel.memory), symbols: try KernelSymbols(elf: kernel.elf),
                                            context: try kernel.context())
        #expect(inspector.layout == KernelLayout.host)
        let lines = try kernel.consoleLines(waitingFor: MM_BOOT_POWER_OFF)
        let pool = try inspector.pagePool()
        let poolLine = try #require(lines.first { $0.hasPrefix(MM_BOOT_PAGE_POOL) })
        #expect(poolLine == "\(MM_BOOT_PAGE_POOL)\(pool.pageCount) pages at \(Hex.format(pool.basePhysicalAddress))")
        #expect(pool.freePages == Self.number(after: "after=", in: lines))   // "[INIT] free pages before=N after=M no leak"
        #expect(pool.allocations >= pool.pageCount - pool.freePages)
        // The log ring holds what the UART printed (like lx-dmesg).
        let log = try inspector.log()
        let banner = try #require(lines.firstIndex { $0.hasPrefix(MM_BOOT_BANNER) })
        #expect(log.lines == Array(lines[banner...]))
        #expect(log.head == UInt64(log.text.utf8.count))
    }
}

func littleEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
}
