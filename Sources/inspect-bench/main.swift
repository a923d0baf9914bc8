// inspect-bench: a full page-table dump (both halves of the live address
// space, then every task's user half from its mm.pgd) by Inspect over
// GdbRemote, cold and warm, and in the same run by stock gdb-multiarch with
// the gdb/ Python walker (`mm-pt ... --raw`) on the same stopped QEMU. Not a
// test: it prints the figures, the ratio and checks both found the same runs.
//
//   scripts/build-kernel.sh && swift run -c release inspect-bench [--runs 7] [--memory 512M] [--append 'linear=pages tests=fork'] [--stop-at sys_wait] [--hits N]
import Foundation
import GdbRemote
import Inspect
import QEMULauncher
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

func milliseconds(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

/// One address space to dump: what gdb's `mm-pt` calls it, and our walker's context and halves.
struct Space {
    var gdbTarget: String
    var context: TranslationContext
    var halves: [TranslationHalf]
}

/// A run as both sides print it: [start, end) -> pa.
struct Range: Hashable, Comparable {
    var start: UInt64, end: UInt64, pa: UInt64
    static func < (a: Range, b: Range) -> Bool { (a.start, a.end, a.pa) < (b.start, b.end, b.pa) }
    var text: String { "\(Hex.format(start))-\(Hex.format(end)) -> \(Hex.format(pa))" }
}

/// Dumps every space in one walk through `memory` (physical mode entered once, one batch per level).
func dumpAll(_ spaces: [Space], memory: any MemorySource, gdbSource: GdbMemorySource) throws -> [AddressSpaceDump] {
    try gdbSource.withPhysicalMode { () throws(TranslationError) -> [AddressSpaceDump] in
        try TranslationTableWalker.dump(spaces.map { (TranslationTableWalker(memory: memory, context: $0.context), $0.halves) })
    }
}

/// Runs gdb-multiarch on the stub: `mm-pt TARGET --raw` for every space, `runs` times, timed inside gdb.
func gdbDump(gdb: String, kernel: String, port: Int, spaces: [Space], runs: Int) throws -> (seconds: [Double], ranges: [[Range]]) {
    let root = KernelImage.packageRoot()?.path ?? FileManager.default.currentDirectoryPath
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inspect-bench-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let targets = spaces.map { "'\($0.gdbTarget)'" }.joined(separator: ", ")
    let script = """
    import time, gdb
    targets = [\(targets)]
    for run in range(\(runs)):
        start = time.perf_counter()
        outputs = [gdb.execute("mm-pt %s --raw" % t, to_string=True) for t in targets]
        print("BENCH-SECONDS %.9f" % (time.perf_counter() - start))
    for t, out in zip(targets, outputs):
        print("BENCH-SPACE " + t)
        print(out, end="")
    print("BENCH-END")
    """
    let scriptPath = directory.appendingPathComponent("bench.py").path
    try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
    let outputPath = directory.appendingPathComponent("gdb.out").path
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: gdb)
    process.currentDirectoryURL = URL(fileURLWithPath: root)
    process.arguments = ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set confirm off",
                         "-ex", "set architecture aarch64", "-ex", "file \(kernel)", "-ex", "source gdb/mmdbg.py",
                         "-ex", "target remote 127.0.0.1:\(port)", "-x", scriptPath, "-ex", "disconnect"]
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let deadline = Date().addingTimeInterval(300)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw Bench.Failure(description: "gdb-multiarch did not finish within 300 s")
    }
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    var seconds: [Double] = []
    var ranges: [[Range]] = []
    for line in text.split(separator: "\n") {
        let words = line.split(separator: " ")
        if words.first == "BENCH-SECONDS", let value = Double(words[1]) { seconds.append(value) }
        else if words.first == "BENCH-SPACE" { ranges.append([]) }
        else if !ranges.isEmpty, words.count == 4, words[0].hasPrefix("0x"),
                let start = UInt64(words[0].dropFirst(2), radix: 16), let end = UInt64(words[1].dropFirst(2), radix: 16),
                let pa = UInt64(words[2].dropFirst(2), radix: 16) {
            ranges[ranges.count - 1].append(Range(start: start, end: end, pa: pa))
        }
    }
    guard seconds.count == runs, ranges.count == spaces.count, text.contains("BENCH-END") else {
        throw Bench.Failure(description: "gdb-multiarch did not report its dump: \(text.suffix(600))")
    }
    return (seconds, ranges)
}

func run() throws {
    let runs = Int(Bench.option("--runs") ?? "7") ?? 7
    // In init's fork scenario, parent waiting: the kernel half, init's and the child's tables.
    let append = Bench.option("--append") ?? "linear=pages tests=fork"
    let stopAt = Bench.option("--stop-at") ?? "sys_wait"
    let hits = Int(Bench.option("--hits") ?? "1") ?? 1
    // 512 MiB mapped with 4 KiB pages: 260 kernel tables, about 280 with the tasks'.
    let ram = Bench.option("--memory") ?? "512M"
    let gdbPath = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
    let kernelPath = try Tools.kernelImage()

    let target = try StoppedKernel(append: append, stopAt: stopAt, memory: ram)
    defer { target.stop() }
    for _ in 1..<max(hits, 1) { try target.run(to: stopAt) }
    let port = target.qemu.gdbPort!
    let context = try target.context()
    var spaces = [Space(gdbTarget: "all", context: context, halves: [.lower, .upper])]
    if let inspector = try? KernelInspector(memory: CachingMemorySource(target.memory), symbols: try KernelSymbols(elf: target.elf),
                                            context: context) {
        for task in try inspector.tasks() where task.mm.pgd != 0 {
            spaces.append(Space(gdbTarget: String(task.pid), context: context.withLowerTable(task.mm.pgd), halves: [.lower]))
        }
    }
    print("QEMU pid \(target.qemu.pid), -m \(ram), -append \"\(append)\", stopped at \(stopAt) (hit \(hits)); \(spaces.count) address space(s): "
          + spaces.map(\.gdbTarget).joined(separator: ", ") + "; median of \(runs) runs")

    // Inspect, cold: a new cache each time, so every table crosses the wire.
    var coldTimes: [Double] = []
    var dumps: [AddressSpaceDump] = []
    var roundTrips = 0
    for _ in 0..<runs {
        let cache = CachingMemorySource(target.memory)
        let before = target.memory.exchanges
        let start = Bench.now()
        dumps = try dumpAll(spaces, memory: cache, gdbSource: target.memory)
        coldTimes.append(Bench.now() - start)
        roundTrips = target.memory.exchanges - before
    }
    // Warm: the same cache, only decoding.
    let cache = CachingMemorySource(target.memory)
    _ = try dumpAll(spaces, memory: cache, gdbSource: target.memory)
    var warmTimes: [Double] = []
    for _ in 0..<runs {
        let start = Bench.now()
        _ = try dumpAll(spaces, memory: cache, gdbSource: target.memory)
        warmTimes.append(Bench.now() - start)
    }
    // vtop cold: round trips for one translation through a fresh cache.
    let vtopCache = CachingMemorySource(target.memory)
    let probe = KernelSymbols.kernelVirtual(0x4000_0000 + 0x10_0000)
    let vtopBefore = target.memory.exchanges
    let vtop = try target.memory.withPhysicalMode { () throws(TranslationError) in
        try TranslationTableWalker(memory: vtopCache, context: context).translate(probe)
    }
    let vtopRoundTrips = target.memory.exchanges - vtopBefore

    let tables = dumps.reduce(0) { $0 + $1.statistics.tables }
    let tableBytes = dumps.reduce(UInt64(0)) { $0 + $1.statistics.tableBytes }
    let perLevel = (0..<4).map { level in dumps.reduce(0) { $0 + $1.statistics.tablesPerLevel[level] } }
    let ours = dumps.map { dump in dump.runs.map { Range(start: $0.virtualStart, end: $0.virtualStart &+ $0.size, pa: $0.physicalStart) }.sorted() }

    let cold = Bench.median(coldTimes), warm = Bench.median(warmTimes)
    print("tables: \(tables) (L0 \(perLevel[0]), L1 \(perLevel[1]), L2 \(perLevel[2]), L3 \(perLevel[3])), \(tableBytes / 1024) KiB; runs: \(ours.reduce(0) { $0 + $1.count })")
    print("Inspect cold   \(milliseconds(cold))  \(Int(Double(tables) / cold)) tables/s  (\(roundTrips) batched round trips per full dump)")
    print("Inspect warm   \(milliseconds(warm))  \(Int(Double(tables) / warm)) tables/s  (decode only)")
    print("vtop cold      \(vtopRoundTrips) round trips for \(vtop.steps.count) levels (\(Hex.format(probe)) -> \(vtop.physicalAddress.map(Hex.format) ?? "unmapped"))")

    // gdb-multiarch on the same stub: our client lets go first (the stub takes one debugger).
    target.client.close()
    let gdb = try gdbDump(gdb: gdbPath, kernel: kernelPath, port: port, spaces: spaces, runs: runs)
    let theirs = gdb.ranges.map { $0.sorted() }

    let gdbTime = Bench.median(gdb.seconds)
    print("gdb-multiarch  \(milliseconds(gdbTime))  \(Int(Double(tables) / gdbTime)) tables/s  (gdb/ Python walker, mm-pt --raw, timed inside gdb)")
    print(String(format: "ratio          gdb / Inspect cold = %.1fx", gdbTime / cold))
    print("goals          >= 7000 tables/s: \(Double(tables) / cold >= 7000 ? "met" : "MISSED"); >= 5x gdb: \(gdbTime / cold >= 5 ? "met" : "MISSED"); vtop <= 1 round trip per level: \(vtopRoundTrips <= vtop.steps.count ? "met" : "MISSED")")
    if ours != theirs {
        for (i, (a, b)) in zip(ours, theirs).enumerated() where a != b {
            let onlyOurs = Set(a).subtracting(b).sorted().prefix(5).map(\.text)
            let onlyTheirs = Set(b).subtracting(a).sorted().prefix(5).map(\.text)
            print("space \(spaces[i].gdbTarget): only Inspect \(onlyOurs); only gdb \(onlyTheirs)")
        }
        throw Bench.Failure(description: "Inspect and the gdb walker found different runs")
    }
    print("same ranges    yes (\(ours.reduce(0) { $0 + $1.count }) runs in \(spaces.count) space(s))")
}

do {
    try run()
} catch {
    FileHandle.standardError.write(Data("inspect-bench: \(error)\n".utf8))
    exit(1)
}
