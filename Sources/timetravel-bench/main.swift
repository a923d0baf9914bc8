// timetravel-bench: what time travel costs, measured against a reference in the same run.
//   1. Recording overhead: the kernel's boot to power-off under -icount, plain vs recorded
//      (rr=record), median of --runs each; the ratio is the overhead.
//   2. last-write latency: record the boot, replay it to init's heap grow (sys_brk's second
//      call, then finish), and time `last-write` on the task's mm.brk, without extra
//      snapshots and with a `savevm` every --spacing instructions (default 500000).
//   --append passes a kernel command line (a longer recording: e.g. 'tests=sleep,preempt').
//   --memory sets the guest RAM of both runs (default: QEMUConfiguration's, what
//   `--record` uses); the recording's manifest notes it and the replay uses it.
//
//   scripts/build-kernel.sh && swift run -c release timetravel-bench [--runs 5] [--spacing 500000] [--append TEXT] [--memory 32M]
import FaultInjection
import Foundation
import Inspect
import MmdbgCore
import QEMULauncher
import TestSupport

func seconds(_ value: Double) -> String { String(format: "%.3f s", value) }

func bootToPowerOff(kernel: String, append: String?, memory: String, record: String?) throws -> Double {
    var configuration = QEMUConfiguration(kernel: kernel)
    configuration.icountShift = Recording.defaultIcountShift
    configuration.append = append
    configuration.memory = memory
    if let record { configuration = try Recording.prepare(record, configuration: configuration, memory: memory) }
    let (qemu, elapsed) = try Bench.timed { () throws -> QEMUInstance in
        let qemu = try QEMUInstance(configuration)
        _ = try qemu.waitForExit(timeout: 300)
        return qemu
    }
    guard qemu.outputText.contains("[BOOT] power off") else {
        throw Bench.Failure(description: "the kernel did not power off: \(qemu.outputText.suffix(300))")
    }
    if let record {
        try Recording.finish(record, configuration: configuration, arguments: qemu.arguments, transcript: qemu.outputText,
                             trace: nil, started: Date())
    }
    return elapsed
}

func lastWriteLatency(kernel: String, recording: String, spacing: UInt64?) throws -> (Double, LastWrite, Int) {
    let replay = try ReplayLaunch(directory: recording, kernel: kernel)
    defer { replay.stop() }
    let session = Session()
    session.runTimeout = 300
    defer { session.end() }
    try session.attachLaunched(replay.qemu, elf: kernel)
    for line in ["break sys_brk", "continue", "continue", "delete", "finish"] {
        if case .failure(let error) = session.execute(line: line).outcome { throw Bench.Failure(description: "\(line): \(error)") }
    }
    let here = try session.requireReplayPosition(for: "bench")
    let snapshots = try spacing.map { try session.takeReplaySnapshots(every: $0, until: here, timeout: 300) } ?? 0
    guard let pid = try session.kernelViews.currentTaskID(),
          case .success(let task) = session.execute(line: "task \(pid)").outcome,
          case .object(let fields) = task.json, case .string(let address)? = fields.first(where: { $0.0 == "address" })?.1,
          let base = UInt64(address.dropFirst(2), radix: 16) else { throw Bench.Failure(description: "no current task") }
    let brk = base + UInt64(KernelLayout.host.offsetofTaskMM) + UInt64(KernelLayout.host.offsetofMMBrk)
    let (answer, elapsed) = try Bench.timed { try session.lastWrite(address: brk, length: 8, timeout: 300) }
    return (elapsed, answer, snapshots)
}

do {
    let kernel = try Tools.kernelImage()
    let runs = Int(Bench.option("--runs") ?? "") ?? 5
    let spacing = UInt64(Bench.option("--spacing") ?? "") ?? 500_000
    let append = Bench.option("--append")
    let memory = Bench.option("--memory") ?? QEMUConfiguration(kernel: kernel).memory
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("timetravel-bench-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: scratch) }
    var plain: [Double] = [], recorded: [Double] = []
    for run in 0..<runs {
        plain.append(try bootToPowerOff(kernel: kernel, append: append, memory: memory, record: nil))
        let directory = (scratch as NSString).appendingPathComponent("run\(run)")
        recorded.append(try bootToPowerOff(kernel: kernel, append: append, memory: memory, record: directory))
    }
    let (p, r) = (Bench.median(plain), Bench.median(recorded))
    print("guest RAM \(memory); boot to power-off, median of \(runs): plain -icount \(seconds(p)), recorded \(seconds(r)), overhead ×\(String(format: "%.2f", r / p))")
    let recording = (scratch as NSString).appendingPathComponent("run0")
    let events = (try? FileManager.default.attributesOfItem(atPath: (recording as NSString).appendingPathComponent("events.rr"))[.size] as? Int) ?? 0
    print("recording: \(events) bytes of event log")
    let (cold, answer, _) = try lastWriteLatency(kernel: kernel, recording: recording, spacing: nil)
    print("last-write mm.brk, only the initial snapshot: \(seconds(cold)) -> \(answer.function ?? "?") at icount \(answer.report.position ?? 0)")
    let (warm, again, taken) = try lastWriteLatency(kernel: kernel, recording: recording, spacing: spacing)
    print("last-write mm.brk, \(taken) snapshots every \(spacing) instructions: \(seconds(warm)) -> \(again.function ?? "?") (×\(String(format: "%.2f", warm / cold)) of the first)")
} catch {
    FileHandle.standardError.write(Data("timetravel-bench: \(error)\n".utf8))
    exit(1)
}
