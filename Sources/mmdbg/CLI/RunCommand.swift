import ArgumentParser
import FaultInjection
import Foundation
import MmdbgCore
import QEMULauncher

/// `mmdbg run FILE…`: each scenario in a fresh QEMU, a pass/fail table, JUnit/JSON, traces.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run fault-injection scenarios, each in a fresh QEMU (exit status = number of failures, max 125).",
        discussion: "Scenarios run in parallel, up to --jobs at once, under -icount, so a run is deterministic. Each run's trace can be replayed with `mmdbg replay TRACE`. A scenario file that cannot be read or parsed is a usage error (exit 2)."
    )

    @Argument(help: ArgumentHelp("Scenario files (.mmdbg).", valueName: "FILE"))
    var files: [String]

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Kernel ELF (default: .build-kernel/kernel.elf, built if missing).", valueName: "FILE"))
    var kernel: String?

    // No declared default: ArgumentParser would print this machine's core count
    // as "(default: 2)" beside the words that say what the default is.
    @Option(name: .customLong("jobs"), help: ArgumentHelp("Scenarios run at once (default: the core count).", valueName: "N"))
    var jobs: Int?

    /// `--jobs`, or the core count.
    var parallelism: Int { jobs ?? ProcessInfo.processInfo.activeProcessorCount }

    @Option(name: .customLong("junit"), help: ArgumentHelp("Write a JUnit XML report to FILE.", valueName: "FILE"))
    var junit: String?

    @Flag(name: .customLong("json"), help: "Print the results as one JSON document instead of the table.")
    var json = false

    @Option(name: .customLong("trace-dir"), help: ArgumentHelp("Save each run's trace as DIR/<scenario>.trace.json.", valueName: "DIR"))
    var traceDirectory: String?

    @Option(name: .customLong("record"), help: ArgumentHelp("Record each run with QEMU's record/replay into DIR/<scenario> (event log, snapshot image, transcript, trace, manifest); `mmdbg replay --debug DIR/<scenario>` replays it at the prompt.", valueName: "DIR"))
    var record: String?

    func validate() throws {
        if let jobs, !(1...64).contains(jobs) { throw ValidationError("--jobs must be 1…64") }
    }

    func run() throws {
        let kernelPath = try KernelBuilder.ensureKernel(explicit: kernel) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        var scenarios: [Scenario] = []
        for file in files {
            do { scenarios.append(try Scenario(contentsOf: file)) } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                throw ProcessExit(status: .usage)
            }
        }
        var runner = ScenarioRunner(kernel: kernelPath)
        runner.recordDirectory = record
        let results = runner.run(scenarios, parallelism: parallelism)
        var tracePaths: [String: String] = [:]
        if let traceDirectory {
            try? FileManager.default.createDirectory(atPath: traceDirectory, withIntermediateDirectories: true)
            for result in results {
                let path = (traceDirectory as NSString).appendingPathComponent(result.scenario.name + ".trace.json")
                do { try result.trace.write(to: path); tracePaths[result.scenario.path] = path } catch {
                    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                }
            }
        }
        if let junit {
            do { try RunReport.junit(results).write(toFile: junit, atomically: true, encoding: .utf8) } catch {
                FileHandle.standardError.write(Data("error: cannot write \(junit): \(error.localizedDescription)\n".utf8))
            }
        }
        print(json ? RunReport.json(results, tracePaths: tracePaths).serialized() : RunReport.table(results))
        Foundation.exit(RunReport.exitStatus(results))
    }
}

/// `mmdbg replay TRACE`: the same injections on the same image; the UART transcript must match byte for byte.
/// `mmdbg replay --debug DIR`: a recording replayed by QEMU at the prompt, where reverse execution works.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a saved trace's injections on the same kernel image and compare the UART transcript byte for byte (exit 0 = identical, 1 = different, 2 = not a readable trace); with --debug, open a recording at the prompt, stopped at its start.",
        discussion: "With --debug DIR (a folder from `mmdbg launch --record` or `mmdbg run --record`) QEMU replays the recording under the debugger: forward commands work as usual and reverse-continue, reverse-stepi, reverse-step, reverse-finish, last-write and pte-history go backwards. A recording made on another kernel image or another QEMU is refused with one line (exit 1)."
    )

    @Argument(help: ArgumentHelp("A trace written by `mmdbg run --trace-dir`, or with --debug a recording folder.", valueName: "TRACE|DIR"))
    var trace: String

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Kernel ELF (default: the one the trace or recording names).", valueName: "FILE"))
    var kernel: String?

    @Flag(name: .customLong("debug"), help: "Open the recording folder at the prompt (stopped at its start) instead of comparing a trace.")
    var debug = false

    @OptionGroup var frontend: FrontendOptions

    func run() throws {
        if debug { return try debugRecording() }
        // Like an unreadable --batch file or scenario: a bad input file is a usage error (exit 2).
        let recorded: FaultTrace
        do { recorded = try FaultTrace.read(from: trace) } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ProcessExit(status: .usage)
        }
        do {
            let outcome = try TraceReplay(kernel: kernel ?? recorded.kernel).replay(recorded)
            if let difference = outcome.firstDifference {
                print("replay of \(recorded.scenario): DIFFERENT: \(difference)")
                throw ProcessExit(status: .commandFailed)
            }
            print("replay of \(recorded.scenario): identical transcript (\(recorded.transcript.utf8.count) bytes, \(outcome.result.trace.hits.count) faults fired)")
        } catch let error as FaultInjectionError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ProcessExit(status: .commandFailed)
        }
    }
}

extension ReplayCommand {
    /// `--debug DIR`: QEMU replays the recording stopped at its start; the session attaches.
    func debugRecording() throws {
        let frontend = Frontend(options: self.frontend)
        let session = try Self.startReplay(frontend, directory: trace, kernel: kernel, elf: self.frontend.elf)
        try frontend.run(session)
    }

    /// QEMU replaying `directory`, stopped at its start, attached: `mmdbg replay --debug` and `mmdbg dap`'s `launch` with `replay`.
    static func startReplay(_ frontend: Frontend, directory trace: String, kernel: String?, elf: String?) throws -> Session {
        let replay: ReplayLaunch
        do { replay = try ReplayLaunch(directory: trace, kernel: kernel) } catch {
            frontend.status("error: \(error)")
            switch error {
            case .unreadable: throw ProcessExit(status: .usage)
            case .mismatch: throw ProcessExit(status: .commandFailed)
            case .failed: throw ProcessExit(status: .cannotConnect)
            }
        }
        let session = frontend.makeSession()
        session.adoptLaunched(replay.qemu)
        session.replayInjections = replay.injections
        session.willEnd.append { _ in replay.stop() }
        frontend.loadSymbols(into: session, default: elf ?? replay.configuration.kernel)
        frontend.status("replaying \(trace) (\(replay.manifest.scenario ?? "launch"), recorded \(replay.manifest.recordedAt)): QEMU pid \(replay.qemu.pid), gdbstub \(replay.qemu.gdbAddress ?? "?")"
            + (replay.injections.isEmpty ? "" : "; \(replay.injections.count) injection(s) re-applied at their instruction counts"))
        do { try frontend.attach(session, to: replay.qemu.gdbAddress ?? "") } catch {
            replay.stop()
            throw error
        }
        session.refreshReplayPosition(direction: .forward)
        return session
    }
}
