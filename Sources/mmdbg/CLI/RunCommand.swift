import ArgumentParser
import FaultInjection
import Foundation

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
        let results = ScenarioRunner(kernel: kernelPath).run(scenarios, parallelism: parallelism)
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
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-run a saved trace's injections on the same kernel image and compare the UART transcript byte for byte (exit 0 = identical, 1 = different, 2 = not a readable trace)."
    )

    @Argument(help: ArgumentHelp("A trace written by `mmdbg run --trace-dir`.", valueName: "TRACE"))
    var trace: String

    @Option(name: .customLong("kernel"), help: ArgumentHelp("Kernel ELF (default: the one the trace names).", valueName: "FILE"))
    var kernel: String?

    func run() throws {
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
