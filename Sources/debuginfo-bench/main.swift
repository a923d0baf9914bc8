import DebugInfo
import Foundation
import GdbRemote
import MmdbgCore
import QEMULauncher
import TestSupport

/// Source-level debugging speed, side by side with gdb-multiarch in one run:
///
/// 1. First `bt`, whole process: `mmdbg attach … -ex bt` against
///    `gdb-multiarch -batch … -ex bt` on the same stop of the same QEMU (both
///    leave with `disconnect`, so the guest stays where it is for the next run).
/// 2. Round trips of one `bt`: cold (a new stop) and cached (the same stop again).
/// 3. Large DWARF: opening a file and answering one line lookup, in a child
///    process (wall time and peak memory), against gdb-multiarch on the same
///    file. `--large-elf PATH` (scripts/bench-debuginfo.sh fetches Debian's
///    arm64 cloud kernel debug image, 270 MB of ELF).
///
///     debuginfo-bench [--runs N] [--stop-at SYMBOL] [--large-elf PATH]
///     debuginfo-bench --child-open PATH ADDRESS      (internal: one measured load)
let arguments = CommandLine.arguments

/// The child half of part 5: open, `ptype TYPE` and `print EXPR` from the file alone (ELFTypedData).
if let index = arguments.firstIndex(of: "--child-typed"), index + 3 < arguments.count {
    let path = arguments[index + 1], typeName = arguments[index + 2], expression = arguments[index + 3]
    let start = Bench.now()
    do {
        let info = try DebugInfoFile(path: path)
        let symbols = try ELFSymbolTable(path: path)
        let opened = Bench.now()
        guard let type = try info.type(named: typeName) else { throw Bench.Failure(description: "no type \(typeName)") }
        let members = type.resolved.members.count
        let evaluator = TypedEvaluator(context: ELFTypedData(info: info, symbols: symbols))
        let value = try ValueFormatter(evaluator: evaluator).text(try evaluator.evaluate(expression))
        let done = Bench.now()
        print("OPEN \(opened - start) ANSWER \(done - opened) ptype: \(members) members; print: \(value)")
    } catch {
        print("ERROR \(error)")
        exit(1)
    }
    exit(0)
}

/// The child half of part 3: open, look one address up, print what was found and how long it took.
if let index = arguments.firstIndex(of: "--child-open"), index + 2 < arguments.count {
    let path = arguments[index + 1]
    let address = UInt64(arguments[index + 2].dropFirst(2), radix: 16) ?? 0
    let start = Bench.now()
    do {
        let info = try DebugInfoFile(path: path)
        let opened = Bench.now()
        let location = try info.location(at: address)
        let function = try info.frames(at: address).last?.function ?? "??"
        let done = Bench.now()
        print("OPEN \(opened - start) FIRST \(done - opened) \(function) \(location.file):\(location.line)")
    } catch {
        print("ERROR \(error)")
        exit(1)
    }
    exit(0)
}

func milliseconds(_ seconds: Double) -> String { String(format: "%8.1f ms", seconds * 1000) }

do {
    let runs = Int(Bench.option("--runs") ?? "5") ?? 5
    let stopAt = Bench.option("--stop-at") ?? "map_page"
    let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
    let kernel = try Tools.kernelImage()
    let mmdbg = URL(fileURLWithPath: arguments[0]).deletingLastPathComponent().appendingPathComponent("mmdbg").path
    guard FileManager.default.isExecutableFile(atPath: mmdbg) else {
        throw Bench.Failure(description: "\(mmdbg) is missing: build the package first (swift build)")
    }

    var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
    configuration.icountShift = 4
    let qemu = try QEMUInstance(configuration)
    defer { qemu.stop() }
    let address = qemu.gdbAddress!

    // Stop once, in process, and count what one `bt` costs.
    let session = Session()
    session.symbols = try ELFSymbolTable(path: kernel)
    try session.attach(to: address)
    for line in ["break \(stopAt)", "continue --timeout 60", "delete"] {
        let result = session.execute(line: line)
        guard result.succeeded else { throw Bench.Failure(description: "\(line): \(String(describing: result.error))") }
    }
    guard let client = (session.target as? GdbTarget)?.client else { throw Bench.Failure(description: "not a gdbstub target") }
    let before = client.traffic
    let first = session.execute(line: "bt")
    let middle = client.traffic
    _ = session.execute(line: "bt")
    let after = client.traffic
    guard case .success(let btOutput) = first.outcome, case .object(let fields) = btOutput.json,
          case .array(let frames)? = fields.first(where: { $0.0 == "frames" })?.1 else {
        throw Bench.Failure(description: "bt failed: \(String(describing: first.error))")
    }
    let machineLevels = Set(frames.compactMap { frame -> String? in
        guard case .object(let f) = frame, case .string(let pc)? = f.first(where: { $0.0 == "pc" })?.1 else { return nil }
        return pc
    }).count
    _ = session.execute(line: "disconnect")
    print("QEMU pid \(qemu.pid), stopped at \(stopAt): \(frames.count) frames (\(machineLevels) machine levels); median of \(runs) runs")
    print("bt round trips  cold: \(middle.exchanges - before.exchanges) batches (\(middle.packets - before.packets) packets) for \(machineLevels) levels; "
          + "same stop again: \(after.exchanges - middle.exchanges)")

    // 1. Whole process, first bt.
    var ours: [Double] = [], theirs: [Double] = []
    var ourFrames = 0, theirFrames = 0
    for _ in 0..<runs {
        let mine = try ChildProcess.run(mmdbg, ["attach", address, "--elf", kernel, "-ex", "bt", "-ex", "disconnect"], timeout: 120)
        guard mine.status == 0 else { throw Bench.Failure(description: "mmdbg: \(mine.combined.suffix(400))") }
        ours.append(mine.seconds)
        ourFrames = mine.stdout.split(separator: "\n").filter { $0.firstMatch(of: /^\s*\*?\d+\s+0x/) != nil }.count
        let reference = try ChildProcess.run(gdb, ["-batch", "-nx", "-ex", "set pagination off", "-ex", "file \(kernel)",
                                                   "-ex", "target remote \(address)", "-ex", "bt", "-ex", "disconnect"], timeout: 120)
        theirs.append(reference.seconds)
        theirFrames = reference.stdout.split(separator: "\n").filter { $0.hasPrefix("#") }.count
    }
    let ourMedian = Bench.median(ours), theirMedian = Bench.median(theirs)
    print("first bt, whole process (load DWARF, attach, bt):")
    print("  mmdbg         \(milliseconds(ourMedian))  \(ourFrames) frames")
    print("  gdb-multiarch \(milliseconds(theirMedian))  \(theirFrames) frames (its backtrace ends at the exception vectors)")
    print(String(format: "  ratio mmdbg/gdb %.2f (goal: at most 0.5)", ourMedian / theirMedian))

    // 4. Typed data: `print *mm_current`, whole process, and what repeating it costs on the same stop.
    let printLine = "print *mm_current"
    for direct in [true, false] {
        let session2 = Session()
        session2.connection.directMemory = direct
        session2.symbols = try ELFSymbolTable(path: kernel)
        try session2.attach(to: address)
        guard let client2 = (session2.target as? GdbTarget)?.client else { throw Bench.Failure(description: "not a gdbstub target") }
        let beforePrint = client2.traffic
        let firstPrint = session2.execute(line: printLine)
        let middlePrint = client2.traffic
        for _ in 0..<10 { _ = session2.execute(line: printLine) }
        let afterPrint = client2.traffic
        guard firstPrint.succeeded else { throw Bench.Failure(description: "\(printLine): \(String(describing: firstPrint.error))") }
        _ = session2.execute(line: "disconnect")
        print("\(printLine) round trips (\(direct ? "guest RAM read directly" : "--memory gdbstub"))  first at a stop: "
              + "\(middlePrint.exchanges - beforePrint.exchanges) batches; 10 more on the same stop: \(afterPrint.exchanges - middlePrint.exchanges) (goal: 0)")
    }
    ours = []; theirs = []
    var ourPrint = "", theirPrint = ""
    for _ in 0..<runs {
        let mine = try ChildProcess.run(mmdbg, ["attach", address, "--elf", kernel, "-ex", "print/r *mm_current", "-ex", "disconnect"], timeout: 120)
        guard mine.status == 0 else { throw Bench.Failure(description: "mmdbg: \(mine.combined.suffix(400))") }
        ours.append(mine.seconds)
        // Both number the value ($1 = …): compare what follows.
        ourPrint = mine.stdout.split(separator: "\n").first { $0.hasPrefix("$1 = ") }.map { String($0.dropFirst(5)) } ?? ""
        let reference = try ChildProcess.run(gdb, ["-batch", "-nx", "-ex", "set pagination off", "-ex", "set width 0", "-ex", "file \(kernel)",
                                                   "-ex", "target remote \(address)", "-ex", "set language c", "-ex", "print *mm_current",
                                                   "-ex", "disconnect"], timeout: 120)
        theirs.append(reference.seconds)
        theirPrint = reference.stdout.split(separator: "\n").first { $0.hasPrefix("$1 = ") }.map { String($0.dropFirst(5)) } ?? ""
    }
    print("first print *mm_current, whole process (load DWARF, attach, print):")
    print("  mmdbg         \(milliseconds(Bench.median(ours)))")
    print("  gdb-multiarch \(milliseconds(Bench.median(theirs)))")
    print(String(format: "  ratio mmdbg/gdb %.2f; same text as gdb (print/r): %@", Bench.median(ours) / Bench.median(theirs),
                 ourPrint == theirPrint && !ourPrint.isEmpty ? "yes" : "NO"))

    // 3. Large DWARF.
    if let large = Bench.option("--large-elf") {
        func measure(_ path: String, label: String) throws {
            // An address inside a function: 8 bytes into Linux's `vfs_read` (its first 8 are the
            // patchable-entry NOPs, which no line row covers) or this kernel's `map_page`.
            let nm = try ChildProcess.run("nm", ["--defined-only", path], timeout: 300)
            let symbol = nm.stdout.split(separator: "\n").first { $0.hasSuffix(" T vfs_read") || $0.hasSuffix(" t map_page") }
            let symbolAddress = symbol.flatMap { UInt64($0.split(separator: " ")[0], radix: 16) } ?? 0
            let addressText = "0x" + String(symbolAddress + 8, radix: 16)
            var mine: [ChildProcess.Result] = [], reference: [ChildProcess.Result] = []
            for _ in 0..<max(1, min(runs, 3)) {
                mine.append(try ChildProcess.run(arguments[0], ["--child-open", path, addressText], timeout: 600))
                reference.append(try ChildProcess.run(gdb, ["-batch", "-nx", "-ex", "file \(path)", "-ex", "info line *\(addressText)"],
                                                      timeout: 600))
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            let ourLine = mine.last!.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let theirLine = reference.last!.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let ourSeconds = Bench.median(mine.map(\.seconds)), theirSeconds = Bench.median(reference.map(\.seconds))
            let ourMemory = mine.map(\.maxResidentKiB).max()!, theirMemory = reference.map(\.maxResidentKiB).max()!
            print("\(label): \(path) (\(size / 1_000_000) MB), one line lookup at \(addressText):")
            print("  mmdbg (DebugInfo) \(milliseconds(ourSeconds))  peak \(ourMemory / 1024) MiB   [\(ourLine)]")
            print("  gdb-multiarch     \(milliseconds(theirSeconds))  peak \(theirMemory / 1024) MiB   [\(theirLine)]")
            print(String(format: "  ratio time %.3f, memory %.3f", ourSeconds / theirSeconds, Double(ourMemory) / Double(theirMemory)))
        }
        try measure(kernel, label: "small DWARF (this kernel)")
        try measure(large, label: "large DWARF")

        // 5. Typed data on the large file: `ptype` of a struct and `print` of a global from the file alone.
        func typed(_ path: String, type: String, expression: String, label: String) throws {
            var mine: [ChildProcess.Result] = [], reference: [ChildProcess.Result] = []
            for _ in 0..<max(1, min(runs, 3)) {
                mine.append(try ChildProcess.run(arguments[0], ["--child-typed", path, type, expression], timeout: 600))
                reference.append(try ChildProcess.run(gdb, ["-batch", "-nx", "-ex", "set width 0", "-ex", "file \(path)",
                                                            "-ex", "ptype \(type)", "-ex", "print \(expression)"], timeout: 600))
            }
            guard mine.last!.status == 0 else { throw Bench.Failure(description: "typed child: \(mine.last!.combined.suffix(300))") }
            let ourLine = mine.last!.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let theirLine = reference.last!.stdout.split(separator: "\n").last.map(String.init) ?? ""
            let ourSeconds = Bench.median(mine.map(\.seconds)), theirSeconds = Bench.median(reference.map(\.seconds))
            let ourMemory = mine.map(\.maxResidentKiB).max()!, theirMemory = reference.map(\.maxResidentKiB).max()!
            print("\(label): ptype \(type); print \(expression):")
            print("  mmdbg (DebugInfo) \(milliseconds(ourSeconds))  peak \(ourMemory / 1024) MiB   [\(ourLine.suffix(120))]")
            print("  gdb-multiarch     \(milliseconds(theirSeconds))  peak \(theirMemory / 1024) MiB   [\(theirLine)]")
            print(String(format: "  ratio time %.3f, memory %.3f", ourSeconds / theirSeconds, Double(ourMemory) / Double(theirMemory)))
        }
        try typed(kernel, type: "struct mm_task", expression: "mm_layout", label: "typed data, small DWARF (this kernel)")
        try typed(large, type: "struct task_struct", expression: "init_uts_ns.name.sysname", label: "typed data, large DWARF")
    } else {
        print("large DWARF: skipped (pass --large-elf PATH; scripts/bench-debuginfo.sh downloads one)")
    }
} catch {
    print("debuginfo-bench: \(error)")
    exit(1)
}
