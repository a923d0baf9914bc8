import Foundation
import MmdbgCore
import QEMULauncher

/// The result of one scenario in its own QEMU.
public struct ScenarioResult: Sendable {
    public var scenario: Scenario
    public var passed: Bool
    /// The failing line and its error, when it failed.
    public var failure: String?
    public var lines: [ScenarioExecution.LineOutcome]
    public var trace: FaultTrace
    public var seconds: Double
    /// How the epilogue's drive to power-off ended (nil when it did not run:
    /// QEMU or the attach failed, or the lines had already ended the target).
    public var epilogue: FaultDriver.Outcome?
    /// The QEMU the scenario ran in (stopped by the time the result exists).
    public var qemuPID: Int32?

    /// The last `count` UART lines.
    public func lastLogLines(_ count: Int = 8) -> [String] {
        var lines = trace.transcript.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return Array(lines.suffix(count))
    }
}

/// Boots a fresh QEMU per scenario (stopped at entry, gdbstub on a free
/// port, `-icount` so guest time is instruction count), attaches a session
/// with the fault commands, runs the lines, then drives the kernel to
/// power-off (faults still armed) so the transcript is complete.
public struct ScenarioRunner: Sendable {
    public var kernel: String
    /// How long the epilogue may take to reach power-off.
    public var finishTimeout: Double = 30
    /// Record each run with QEMU's record/replay into `recordDirectory/<scenario name>` (`mmdbg run --record`).
    public var recordDirectory: String?

    public init(kernel: String) { self.kernel = kernel }

    /// What a caller (the sweep) does around the lines: `prepare` once attached,
    /// before the first line; `afterLines` once they ran, the target as they left it.
    public struct Hooks {
        public var prepare: (Session) -> Void
        public var afterLines: (Session, [ScenarioExecution.LineOutcome]) -> Void
        public init(prepare: @escaping (Session) -> Void = { _ in },
                    afterLines: @escaping (Session, [ScenarioExecution.LineOutcome]) -> Void = { _, _ in }) {
            self.prepare = prepare
            self.afterLines = afterLines
        }
    }

    /// Runs `scenario`; `pinnedHits` replays a trace's firings exactly.
    public func run(_ scenario: Scenario, pinnedHits: [Int: [Int]]? = nil, hooks: Hooks? = nil) -> ScenarioResult {
        let started = Date()
        var trace = FaultTrace(scenario: scenario.name, scenarioPath: scenario.path, kernel: kernel,
                               image: (try? ImageIdentity.of(path: kernel)) ?? "unknown", append: scenario.append,
                               icountShift: scenario.icountShift, smp: scenario.smp == 1 ? nil : scenario.smp,
                               timeout: scenario.timeout, lines: [], hits: [], transcript: "")
        var epilogue: FaultDriver.Outcome?
        var qemuPID: Int32?
        func finish(_ failure: String?, _ lines: [ScenarioExecution.LineOutcome]) -> ScenarioResult {
            ScenarioResult(scenario: scenario, passed: failure == nil, failure: failure, lines: lines, trace: trace,
                           seconds: Date().timeIntervalSince(started), epilogue: epilogue, qemuPID: qemuPID)
        }
        var configuration = ScenarioRunner.configuration(kernel: kernel, append: scenario.append, icountShift: scenario.icountShift)
        configuration.smp = scenario.smp
        let recording = recordDirectory.map { ($0 as NSString).appendingPathComponent(scenario.name) }
        if let recording {
            do throws(RecordingError) { configuration = try Recording.prepare(recording, configuration: configuration) } catch {
                return finish("cannot record: \(error.description)", [])
            }
        }
        let qemu: QEMUInstance
        do { qemu = try QEMUInstance(configuration) } catch { return finish("cannot start QEMU: \(error.description)", []) }
        defer { qemu.stop() }
        qemuPID = qemu.pid

        let session = Session(registry: FaultCommands.makeRegistry())
        session.runTimeout = scenario.timeout
        do throws(CommandError) {
            try session.attachLaunched(qemu, elf: kernel)
        } catch {
            return finish("cannot attach: \(error.description)", [])
        }
        let state = FaultSessionState.of(session)
        state.pinnedHits = pinnedHits
        hooks?.prepare(session)
        // A recording's trace carries each firing's instruction count and writes, for the replay to re-apply.
        state.engine.recordsPositions = recording != nil

        let outcomes = ScenarioExecution.execute(scenario, in: session)
        trace.lines = outcomes.map(\.line.text)
        var failure: String?
        if let last = outcomes.last, !last.succeeded {
            failure = "line \(last.line.number) `\(last.line.text)`: \(last.text)"
        }
        hooks?.afterLines(session, outcomes)
        // Epilogue: run to power-off with the faults still armed, so the
        // transcript is the whole boot (what replay compares).
        if session.target != nil {
            epilogue = (try? FaultDriver.drive(session, goal: FaultDriver.Goal(timeout: finishTimeout), command: "finish"))?.0
        }
        if epilogue != .timedOut {
            _ = try? qemu.waitForExit(timeout: 30)  // generous: a loaded host; it also collects the last console lines
        }
        session.end()
        trace.hits = state.engine.trace
        trace.transcript = ScenarioRunner.guestOutput(qemu.outputText)
        if let recording {
            do throws(RecordingError) {
                try Recording.finish(recording, configuration: configuration, arguments: qemu.arguments,
                                     transcript: trace.transcript, trace: trace, started: started)
            } catch {
                failure = failure ?? "cannot finish the recording: \(error.description)"
            }
            let deferred = state.deferredLastWrites
            if failure == nil, !deferred.isEmpty {
                failure = ScenarioRunner.checkLastWrites(deferred, recording: recording, kernel: kernel, timeout: scenario.timeout)
            }
        }
        return finish(failure, outcomes)
    }

    /// How a scenario's QEMU runs: stopped at entry, gdbstub on a free port, `-icount` with sleep=off.
    public static func configuration(kernel: String, append: String?, icountShift: Int) -> QEMUConfiguration {
        var configuration = QEMUConfiguration(kernel: kernel)
        configuration.gdb = .tcpFreePort
        configuration.stoppedAtEntry = true
        // sleep=off: guest time is instruction count only, idle time is
        // skipped to the next timer deadline, never real time. Breakpoint
        // stops don't move guest time because the kernel keeps its timer
        // disabled while it runs with IRQs masked (QEMU 7.2 warps to the
        // deadline at a debug stop; docs/fault-injection-determinism.md), so
        // transcripts, `ticks N` included, are identical run to run (tested).
        configuration.icountShift = icountShift
        configuration.icountSleep = false
        configuration.append = append
        return configuration
    }

    /// Checks the `expect last-write` lines met while recording on a replay of the recording:
    /// each at its instruction count (injections re-applied on the way). The first failure, one line.
    static func checkLastWrites(_ deferred: [(icount: UInt64, line: String, expectation: LastWriteExpectation)],
                                recording: String, kernel: String, timeout: Double) -> String? {
        let replay: ReplayLaunch
        do throws(RecordingError) { replay = try ReplayLaunch(directory: recording, kernel: kernel) } catch {
            return "cannot replay the recording to check `expect last-write`: \(error.description)"
        }
        defer { replay.stop() }
        let session = Session(registry: FaultCommands.makeRegistry())
        session.runTimeout = timeout
        defer { session.end() }
        do throws(CommandError) {
            try session.attachLaunched(replay.qemu, elf: kernel)
            session.replayInjections = replay.injections
            for item in deferred {
                do throws(CommandError) {
                    try session.seekReplay(to: item.icount, timeout: timeout)
                    _ = try item.expectation.evaluate(session, timeout: timeout)
                } catch {
                    return "`\(item.line)` (on the replay, icount \(item.icount)): \(error.description)"
                }
            }
        } catch {
            return "cannot attach to the replay to check `expect last-write`: \(error.description)"
        }
        return nil
    }

    /// The serial console without QEMU's own diagnostics (`qemu-system-aarch64: warning: …`),
    /// which share the pipe but are not the guest's output.
    public static func guestOutput(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("qemu-system-") }
            .joined(separator: "\n")
    }

    /// Runs every scenario, up to `parallelism` at once; results in input order.
    public func run(_ scenarios: [Scenario], parallelism: Int) -> [ScenarioResult] {
        let results = ResultSlots(count: scenarios.count)
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = max(1, parallelism)
        for (index, scenario) in scenarios.enumerated() {
            queue.addOperation { results.set(index, self.run(scenario)) }
        }
        queue.waitUntilAllOperationsAreFinished()
        return results.values
    }
}

/// Results written from several threads, read once all are done.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [ScenarioResult?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ result: ScenarioResult) {
        lock.lock()
        slots[index] = result
        lock.unlock()
    }

    var values: [ScenarioResult] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
