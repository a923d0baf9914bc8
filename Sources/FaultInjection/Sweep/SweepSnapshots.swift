import Foundation
import MmdbgCore
import QEMULauncher

/// Snapshot restore instead of a boot per run: one QEMU per worker with a scratch qcow2
/// drive (`qemu-img create`, removed at the end) holds one `savevm` per site, taken at the
/// site's first eligible hit; each run is `loadvm`, arm `--nth N`, count the hit the
/// snapshot stands on, and drive to `mm_psci_system_off` (QEMU never powers off, so the
/// next run restores again). The transcript is the golden run's output up to the snapshot
/// plus what the run printed after it, so a run's reproducer (`mmdbg run`, a fresh boot)
/// gives the same bytes.
///
/// Guest RAM is not in the snapshot when QEMU's RAM is the shared file (the default): the
/// monitor's `migrate_set_capability x-ignore-shared on` leaves it out of `savevm`, the worker
/// copies the file at the `savevm` and writes back the pages that differ right after each
/// `loadvm`, before the vCPU runs (the CPU post-load's TLB and translated-code flushes run then).
/// After, not before: `loadvm` resets the machine first, which copies `-kernel`'s ELF segments
/// and the DTB back into RAM (restoring before it made the fork test's later hits leak). `loadvm` of the 128 MiB the kernel writes at
/// boot took about 0.2 s of a 0.35 s run; the page compare and copy take a few hundredths.
///
/// For `--boot` campaigns (no scenario lines to replay before the hit) of one site per run.
public final class SweepSnapshotWorker {
    let kernel: String
    let golden: SweepGolden
    let deadline: Double
    private var qemu: QEMUInstance?
    private var session: Session?
    private var image: String?
    /// Site → (snapshot name, transcript up to it).
    private var snapshots: [String: (name: String, prefix: String)] = [:]
    /// Guest RAM mapped read-write when `savevm` leaves it out (x-ignore-shared), and its copy
    /// at the worker's snapshot (one per worker: another site boots a fresh QEMU).
    private var ram: (base: UnsafeMutableRawPointer, size: Int)?
    private var ramAtSnapshot: UnsafeMutableRawPointer?

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(kernel: String, golden: SweepGolden, deadline: Double) {
        self.kernel = kernel
        self.golden = golden
        self.deadline = deadline
    }

    deinit { stop() }

    /// Whether `run` can be restored from a snapshot of this campaign.
    public static func supports(_ run: SweepRun, golden: SweepGolden) -> Bool {
        golden.scenarioLines.isEmpty && Set(run.points.map(\.site)).count == 1
    }

    /// Kills QEMU by PID and removes the qcow2 file.
    public func stop() {
        if let ram { munmap(ram.base, ram.size) }
        ram = nil
        ramAtSnapshot?.deallocate()
        ramAtSnapshot = nil
        session?.end()
        session = nil
        qemu?.stop()
        qemu = nil
        if let image { try? FileManager.default.removeItem(atPath: image) }
        image = nil
        snapshots = [:]
    }

    /// Boots QEMU with a scratch qcow2 drive, stopped at entry, attached.
    func start() throws(Failure) {
        stop()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-sweep-\(getpid())-\(UUID().uuidString.prefix(8)).qcow2").path
        let create = Process()
        create.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        create.arguments = ["qemu-img", "create", "-q", "-f", "qcow2", path, "64M"]
        do { try create.run() } catch { throw Failure(description: "cannot run qemu-img (install qemu-utils): \(error.localizedDescription)") }
        create.waitUntilExit()
        guard create.terminationStatus == 0 else { throw Failure(description: "qemu-img create failed (status \(create.terminationStatus))") }
        image = path
        var configuration = ScenarioRunner.configuration(kernel: kernel, append: golden.append, icountShift: golden.icountShift)
        configuration.extraArguments = ["-drive", "file=\(path),if=none,id=sweepsnap,format=qcow2"]
        let qemu: QEMUInstance
        do { qemu = try QEMUInstance(configuration) } catch { throw Failure(description: "cannot start QEMU: \(error.description)") }
        self.qemu = qemu
        let session = Session(registry: FaultCommands.makeRegistry())
        session.runTimeout = deadline
        do throws(CommandError) { try session.attachLaunched(qemu, elf: kernel) } catch {
            throw Failure(description: "cannot attach: \(error.description)")
        }
        self.session = session
        // Without the shared file (or the capability) savevm keeps RAM itself, as before.
        if let shared = qemu.sharedRAM, let base = shared.mapWritable() {
            if let answer = try? session.target?.monitor("migrate_set_capability x-ignore-shared on"),
               !answer.lowercased().contains("error") {
                ram = (base, Int(shared.size))
            } else {
                munmap(base, Int(shared.size))
            }
        }
    }

    /// Runs to `site`'s first eligible hit and saves the snapshot there (once per site).
    func snapshot(for site: String) throws(Failure) -> (name: String, prefix: String) {
        if let known = snapshots[site] { return known }
        // Another site: a fresh boot (its first hit may come before the other's). Campaign runs are
        // grouped by site and claimed in order, so a worker switches sites rarely.
        if session == nil || !snapshots.isEmpty { try start() }
        guard let session, let qemu else { throw Failure(description: "no QEMU") }
        guard let kernelAccess = try? FaultSessionState.kernel(session, for: "sweep"),
              let address = kernelAccess.elf.symbol(named: site)?.address else { throw Failure(description: "no symbol \(site)") }
        let state = FaultSessionState.of(session)
        let observer = (try? state.engine.observe(address: address, pid: golden.pid, target: kernelAccess.target)) ?? 0
        let started = Date()
        while state.engine.observers[observer].hits.isEmpty {
            let remaining = deadline - Date().timeIntervalSince(started)
            guard remaining > 0 else { throw Failure(description: "\(site) not reached within \(deadline) s") }
            let (outcome, _): (FaultDriver.Outcome, [FaultHit])
            do throws(CommandError) {
                (outcome, _) = try FaultDriver.drive(session, goal: FaultDriver.Goal(address: address, timeout: remaining), command: "sweep")
            } catch { throw Failure(description: "driving to \(site): \(error.description)") }
            guard outcome == .reachedAddress else { throw Failure(description: "\(site) not reached: \(outcome.summary)") }
        }
        reset(session)
        let name = "sweep\(snapshots.count + 1)"
        let result = session.execute(line: "monitor savevm \(name)")
        if case .failure(let error) = result.outcome { throw Failure(description: "savevm: \(TextRenderer(colour: false).render(error: error))") }
        if let ram {
            let copy = UnsafeMutableRawPointer.allocate(byteCount: ram.size, alignment: 4096)
            copy.copyMemory(from: ram.base, byteCount: ram.size)
            ramAtSnapshot = copy
        }
        let entry = (name, SweepSnapshotWorker.settledOutput(qemu))
        snapshots[site] = entry
        return entry
    }

    /// Disarms every fault and observer and forgets the session's fault state.
    func reset(_ session: Session) {
        let state = FaultSessionState.of(session)
        state.engine.removeAll(target: session.target)
        session.extensions[FaultSessionState.key] = nil
    }

    /// Copies back the 4 KiB pages of `ram` that differ from `saved`.
    static func restorePages(_ ram: UnsafeMutableRawPointer, from saved: UnsafeRawPointer, size: Int) {
        var offset = 0
        while offset < size {
            let length = min(4096, size - offset)
            if memcmp(ram + offset, saved + offset, length) != 0 { (ram + offset).copyMemory(from: saved + offset, byteCount: length) }
            offset += length
        }
    }

    /// The console once it stops growing (the capture thread lags the guest by a little).
    static func settledOutput(_ qemu: QEMUInstance) -> String {
        var last = qemu.outputText
        let limit = Date().addingTimeInterval(1)
        while Date() < limit {
            Thread.sleep(forTimeInterval: 0.03)
            let now = qemu.outputText
            if now == last { break }
            last = now
        }
        return ScenarioRunner.guestOutput(last)
    }

    /// One run from the site's snapshot; nil when it cannot be restored (the caller boots instead).
    public func execute(_ run: SweepRun, findingsDirectory: String?) -> SweepResult? {
        guard SweepSnapshotWorker.supports(run, golden: golden) else { return nil }
        let started = Date()
        let site = run.points[0].site
        let snap: (name: String, prefix: String)
        do { snap = try snapshot(for: site) } catch { return nil }
        guard let session, let qemu else { return nil }
        reset(session)
        let restore = session.execute(line: "monitor loadvm \(snap.name)")
        if let ram, let saved = ramAtSnapshot { SweepSnapshotWorker.restorePages(ram.base, from: saved, size: ram.size) }
        guard case .success = restore.outcome, (try? session.refreshStopState(reason: "loadvm")) != nil else {
            stop()
            return nil
        }
        let before = qemu.outputText.utf8.count
        let lines = SweepRunner.lines(for: run, golden: golden, deadline: deadline)
        SweepRunner.prepareOracles(session, balanced: golden.balanced, enclosing: run.points.flatMap(\.enclosing))
        var executed: [ScenarioExecution.LineOutcome] = []
        for (index, line) in lines.enumerated() {
            let began = Date()
            let result = session.execute(line: line)
            let succeeded: Bool
            if case .success = result.outcome { succeeded = true } else { succeeded = false }
            executed.append(ScenarioExecution.LineOutcome(line: Scenario.Line(number: index + 1, text: line), text: "",
                                                          succeeded: succeeded, seconds: Date().timeIntervalSince(began)))
            guard succeeded else { break }
            if index == run.points.count - 1 {
                // The snapshot stands on the site's first eligible hit: count it now (the drive steps over it).
                guard let kernelAccess = try? FaultSessionState.kernel(session, for: "sweep"),
                      let pc = try? session.registerValue("pc") else { break }
                let engine = FaultSessionState.of(session).engine
                _ = try? engine.handleStop(pc: pc, watchAddress: nil, kernel: kernelAccess, symbolicate: { session.symbols?.describe($0) })
                try? session.refreshStopState(reason: "restored")
            }
        }
        let box = SweepRunner.Probe.Box()
        SweepRunner.readOracles(session, deadline: deadline, drive: executed.count < lines.count, into: box)
        guard session.target != nil else {
            stop()  // QEMU went away: the next run boots a fresh worker
            return nil
        }
        let after = SweepSnapshotWorker.settledOutput(qemu)
        let suffix = String(decoding: Array(qemu.outputText.utf8).dropFirst(before), as: UTF8.self)
        _ = after
        let transcript = snap.prefix + ScenarioRunner.guestOutput(suffix)
        var observation = SweepObservation(reachedPowerOff: box.reachedPowerOff, freePages: box.freePages, checkFindings: box.findings,
                                           killed: box.killed, transcript: transcript, scenarioFailure: nil)
        observation.violations = box.violations
        let hits = FaultSessionState.of(session).engine.trace
        return SweepRunner.finish(run, observation: observation, golden: golden, deadline: deadline, hits: hits,
                                  seconds: Date().timeIntervalSince(started), qemuPID: qemu.pid, method: "snapshot",
                                  findingsDirectory: findingsDirectory)
    }
}
