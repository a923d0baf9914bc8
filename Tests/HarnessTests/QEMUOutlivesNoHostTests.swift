import Foundation
import Testing
import TestSupport
@testable import QEMULauncher
#if canImport(Glibc)
import Glibc
#endif

/// The probe did not get as far as starting QEMU.
struct ProbeFailure: Error, CustomStringConvertible { let description: String }

/// A host process (qemu-launch-probe) starts a real QEMU and then dies; its
/// QEMU must be gone within a deadline, however the host died.
@Suite(.serialized)
struct QEMUOutlivesNoHostSystemTests {
    /// How the probe dies: a signal the test sends, or a crash it commits itself.
    enum Death: String, CustomTestStringConvertible, CaseIterable {
        case sigkill, sigint, sigterm, sighup, segv, fatal, abort
        var testDescription: String { rawValue }
        /// The signal the test sends (nil: the probe crashes by itself).
        var sentSignal: Int32? {
            switch self {
            case .sigkill: return SIGKILL
            case .sigint: return SIGINT
            case .sigterm: return SIGTERM
            case .sighup: return SIGHUP
            case .segv, .fatal, .abort: return nil
            }
        }
        /// The signals the probe may die of (a Swift trap is SIGILL on x86-64, SIGTRAP on arm64).
        var deathSignals: [Int32] {
            switch self {
            case .segv: return [SIGSEGV]
            case .fatal: return [SIGILL, SIGTRAP]
            case .abort: return [SIGABRT]
            default: return [sentSignal!]
            }
        }
    }

    /// A started probe: its process, and the PIDs of its QEMU and watchdog.
    struct Probe {
        let process: Process
        let qemuPID: Int32
        let watchdogPID: Int32
        let log: URL

        var log_: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// Kills whatever a failed test left behind (by PID, only if it is still that QEMU).
        func cleanUp() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            if HostProcess.isAlive(qemuPID), HostProcess.commandLine(of: qemuPID).contains("qemu-system-aarch64") { kill(qemuPID, SIGKILL) }
            if watchdogPID > 0, HostProcess.isAlive(watchdogPID), HostProcess.commandLine(of: watchdogPID).contains("mmdbg-qemu-watchdog") {
                kill(watchdogPID, SIGKILL)
            }
        }
    }

    /// Starts the probe and waits until it reports its QEMU's PID.
    static func startProbe(watchdog: Bool, then ending: String) throws -> Probe {
        let kernel = try Tools.kernelImage()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pidFile = directory.appendingPathComponent("pids")
        let log = directory.appendingPathComponent("log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltProduct.path("qemu-launch-probe"))
        process.arguments = [kernel, pidFile.path, "--then", ending] + (watchdog ? [] : ["--no-watchdog"])
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // crash at once, no symbolication
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = try FileHandle(forWritingTo: log)
        try process.run()
        var pids: [Int32] = []
        _ = HostProcess.eventually(within: 30) {
            pids = ((try? String(contentsOf: pidFile, encoding: .utf8)) ?? "").split(separator: " ")
                .compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return pids.count == 2 || !process.isRunning
        }
        guard pids.count == 2 else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            throw ProbeFailure(description: "qemu-launch-probe reported no QEMU PID within 30 s: \(output)")
        }
        return Probe(process: process, qemuPID: pids[0], watchdogPID: pids[1], log: log)
    }

    /// Waits (with a deadline) for the probe to die; returns the signal that killed it (0 if it exited).
    static func deathSignal(of process: Process) -> Int32? {
        guard HostProcess.eventually(within: 30, { !process.isRunning }) else { return nil }
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? process.terminationStatus : 0
    }

    @Test("the signal handlers alone kill QEMU when the host crashes or is terminated",
          arguments: [Death.sigterm, .sighup, .segv, .fatal, .abort])
    func handlersKillQEMU(death: Death) throws {
        let probe = try Self.startProbe(watchdog: false, then: death.sentSignal == nil ? death.rawValue : "wait")
        defer { probe.cleanUp() }
        #expect(probe.watchdogPID == 0)
        if let signal = death.sentSignal {
            try #require(HostProcess.isAlive(probe.qemuPID) && HostProcess.commandLine(of: probe.qemuPID).contains("qemu-system-aarch64"))
            kill(probe.process.processIdentifier, signal)
        }
        let signal = Self.deathSignal(of: probe.process)
        #expect(signal.map(death.deathSignals.contains) == true, "probe ended with \(String(describing: signal)): \(probe.log_)")
        #expect(HostProcess.eventually(within: 15) { !HostProcess.isAlive(probe.qemuPID) }, "QEMU \(probe.qemuPID) outlived a host killed by \(death)")
    }

    @Test("the watchdog kills QEMU when the host dies of a signal no handler sees (SIGKILL) or leaves alone (SIGINT)",
          arguments: [Death.sigkill, .sigint])
    func watchdogKillsQEMU(death: Death) throws {
        let probe = try Self.startProbe(watchdog: true, then: "wait")
        defer { probe.cleanUp() }
        try #require(HostProcess.isAlive(probe.qemuPID) && HostProcess.commandLine(of: probe.qemuPID).contains("qemu-system-aarch64"))
        try #require(HostProcess.isAlive(probe.watchdogPID) && HostProcess.commandLine(of: probe.watchdogPID).contains("mmdbg-qemu-watchdog"))
        kill(probe.process.processIdentifier, death.sentSignal!)
        #expect(Self.deathSignal(of: probe.process) == death.sentSignal!, "\(probe.log_)")
        #expect(HostProcess.eventually(within: 15) { !HostProcess.isAlive(probe.qemuPID) }, "QEMU \(probe.qemuPID) outlived a host killed by \(death)")
        #expect(HostProcess.eventually(within: 15) { !HostProcess.isAlive(probe.watchdogPID) }, "the watchdog outlived its QEMU")
        // Its shared RAM file is gone too (unlinked once QEMU mapped it; the watchdog removes it otherwise).
        #expect(SharedRAMFiles.left(byHost: probe.process.processIdentifier).isEmpty)
    }

    @Test("without the watchdog a SIGKILLed host orphans its QEMU (why the watchdog exists)")
    func sigkillWithoutWatchdogOrphansQEMU() throws {
        let probe = try Self.startProbe(watchdog: false, then: "wait")
        defer { probe.cleanUp() }
        kill(probe.process.processIdentifier, SIGKILL)
        #expect(Self.deathSignal(of: probe.process) == SIGKILL)
        usleep(300_000)
        #expect(HostProcess.isAlive(probe.qemuPID) && HostProcess.commandLine(of: probe.qemuPID).contains("qemu-system-aarch64"))
    }

    @Test("stop() and QEMU's own exit take the watchdog with them")
    func watchdogEndsWithQEMU() throws {
        let kernel = try Tools.kernelImage()
        var configuration = QEMUConfiguration(kernel: kernel)
        configuration.stoppedAtEntry = true
        let stopped = try QEMUInstance(configuration)
        let stoppedWatchdog = try #require(stopped.watchdogPID)
        #expect(HostProcess.isAlive(stoppedWatchdog))
        stopped.stop()
        #expect(!HostProcess.isAlive(stopped.pid))
        #expect(HostProcess.eventually(within: 15) { !HostProcess.isAlive(stoppedWatchdog) })

        // The kernel powers off by itself through PSCI once it has booted.
        let exiting = try QEMUInstance(QEMUConfiguration(kernel: kernel))
        defer { exiting.stop() }
        let exitingWatchdog = try #require(exiting.watchdogPID)
        try exiting.waitForExit(timeout: 30)
        #expect(HostProcess.eventually(within: 15) { !HostProcess.isAlive(exitingWatchdog) })
    }
}
