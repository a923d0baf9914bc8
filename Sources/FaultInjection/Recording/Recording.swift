import Foundation
import MmdbgCore
import QEMULauncher

/// A recording: a folder with QEMU's event log, the snapshot image, the UART
/// transcript, mmdbg's fault trace (for a scenario) and `manifest.json`, which
/// says what it was recorded with (kernel build id, QEMU version and arguments,
/// icount settings). A replay on another kernel image or another QEMU is
/// refused with one line: the event log only replays on what made it.
///
///     DIR/manifest.json   DIR/events.rr   DIR/snapshots.qcow2   DIR/uart.txt   DIR/trace.json
public struct RecordingManifest: Codable, Sendable, Equatable {
    public var format = 1
    /// The kernel's path when it was recorded.
    public var kernel: String
    /// `ImageIdentity` of the kernel (its GNU build id, else a hash of the file).
    public var image: String
    /// `qemu-system-aarch64 --version`'s first line.
    public var qemuVersion: String
    /// QEMU's command line when it recorded.
    public var qemuArguments: [String]
    public var icountShift: Int
    /// Guest RAM (`-m`) it was recorded with; a replay must use the same (the snapshots hold
    /// that much RAM). Absent in recordings made before it was noted: QEMUConfiguration's default.
    public var memory: String?
    /// `-append`, if the kernel had a command line.
    public var append: String?
    public var eventLog = "events.rr"
    public var snapshotImage = "snapshots.qcow2"
    public var transcript = "uart.txt"
    /// The scenario's fault trace (`trace.json`), for `mmdbg run --record`; its firings are
    /// what a replay must re-apply (the debugger's writes are not in QEMU's event log).
    public var trace: String?
    public var scenario: String?
    /// When and how long (seconds, wall clock) the recording ran.
    public var recordedAt: String
    public var seconds: Double

    public static let fileName = "manifest.json"
}

/// Errors of making and opening recordings: each is one line.
public enum RecordingError: Error, CustomStringConvertible, Equatable {
    case unreadable(String)
    case mismatch(String)
    case failed(String)

    public var description: String {
        switch self {
        case .unreadable(let why), .mismatch(let why), .failed(let why): return why
        }
    }
}

public enum Recording {
    /// The icount shift recordings use when the caller names none (as QEMU's own tests do).
    public static let defaultIcountShift = 4

    /// Prepares `directory` (created; must not hold a recording already) and returns
    /// `configuration` set to record into it, with `memory` as guest RAM when given (the
    /// manifest notes it; its replay uses the same).
    public static func prepare(_ directory: String, configuration: QEMUConfiguration, memory: String? = nil) throws(RecordingError) -> QEMUConfiguration {
        let fm = FileManager.default
        if fm.fileExists(atPath: path(directory, RecordingManifest.fileName)) {
            throw .failed("\(directory) already holds a recording (remove it or choose another folder)")
        }
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .failed("cannot create \(directory): \(error.localizedDescription)")
        }
        let image = path(directory, "snapshots.qcow2")
        try? fm.removeItem(atPath: image)
        do throws(QEMUError) { try RecordReplay.createSnapshotImage(at: image) } catch {
            throw .failed("cannot create the snapshot image: \(error.description)")
        }
        var configuration = configuration
        if let memory { configuration.memory = memory }
        configuration.icountShift = configuration.icountShift ?? defaultIcountShift
        configuration.icountSleep = false
        configuration.recordReplay = RecordReplay(mode: .record, eventLog: path(directory, "events.rr"), snapshotImage: image)
        return configuration
    }

    /// Writes the manifest (and the transcript, and the trace when there is one) once QEMU has exited.
    public static func finish(_ directory: String, configuration: QEMUConfiguration, arguments: [String],
                              transcript: String, trace: FaultTrace?, started: Date) throws(RecordingError) {
        let version: String
        do throws(QEMUError) { version = try RecordReplay.qemuVersion(executable: configuration.executable) } catch {
            throw .failed(error.description)
        }
        let image: String
        do throws(FaultInjectionError) { image = try ImageIdentity.of(path: configuration.kernel) } catch {
            throw .failed(error.description)
        }
        var manifest = RecordingManifest(kernel: URL(fileURLWithPath: configuration.kernel).standardizedFileURL.path, image: image, qemuVersion: version,
                                         qemuArguments: arguments, icountShift: configuration.icountShift ?? defaultIcountShift,
                                         memory: configuration.memory,
                                         append: configuration.append, trace: nil, scenario: trace?.scenario,
                                         recordedAt: ISO8601DateFormatter().string(from: started),
                                         seconds: Date().timeIntervalSince(started))
        do {
            try Data(transcript.utf8).write(to: URL(fileURLWithPath: path(directory, manifest.transcript)))
        } catch { throw .failed("cannot write the transcript: \(error.localizedDescription)") }
        if let trace {
            manifest.trace = "trace.json"
            do throws(FaultInjectionError) { try trace.write(to: path(directory, "trace.json")) } catch {
                throw .failed(error.description)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(manifest).write(to: URL(fileURLWithPath: path(directory, RecordingManifest.fileName))) } catch {
            throw .failed("cannot write the manifest: \(error.localizedDescription)")
        }
    }

    /// Reads `directory`'s manifest.
    public static func manifest(of directory: String) throws(RecordingError) -> RecordingManifest {
        let file = path(directory, RecordingManifest.fileName)
        guard let data = FileManager.default.contents(atPath: file) else {
            throw .unreadable("\(directory) is not a recording (no readable \(RecordingManifest.fileName))")
        }
        do { return try JSONDecoder().decode(RecordingManifest.self, from: data) } catch {
            throw .unreadable("\(file) is not an mmdbg recording manifest")
        }
    }

    /// A configuration that replays `directory` on `kernel` (default: the recorded path),
    /// stopped at the start with the gdbstub on a free port. The snapshot image is copied
    /// to `scratch` (replay's `savevm` writes into it; the recording stays as it was):
    /// the caller removes it. Refused with one line when the kernel image or QEMU differ.
    public static func replayConfiguration(_ directory: String, kernel: String?, scratch: String,
                                           executable: String = "qemu-system-aarch64") throws(RecordingError)
        -> (QEMUConfiguration, RecordingManifest) {
        let manifest = try manifest(of: directory)
        let kernelPath = kernel ?? manifest.kernel
        let image: String
        do throws(FaultInjectionError) { image = try ImageIdentity.of(path: kernelPath) } catch {
            throw .unreadable("cannot read the kernel \(kernelPath) to check it against the recording")
        }
        guard image == manifest.image else {
            throw .mismatch("replay refused: \(kernelPath) is \(image), the recording was made on \(manifest.image)")
        }
        let version: String
        do throws(QEMUError) { version = try RecordReplay.qemuVersion(executable: executable) } catch {
            throw .failed(error.description)
        }
        guard version == manifest.qemuVersion else {
            throw .mismatch("replay refused: this is \(version), the recording was made with \(manifest.qemuVersion)")
        }
        for file in [manifest.eventLog, manifest.snapshotImage] where !FileManager.default.fileExists(atPath: path(directory, file)) {
            throw .unreadable("\(directory) lacks \(file): the recording is incomplete")
        }
        try? FileManager.default.removeItem(atPath: scratch)
        do { try FileManager.default.copyItem(atPath: path(directory, manifest.snapshotImage), toPath: scratch) } catch {
            throw .failed("cannot copy the snapshot image to \(scratch): \(error.localizedDescription)")
        }
        var configuration = QEMUConfiguration(kernel: kernelPath)
        configuration.executable = executable
        configuration.gdb = .tcpFreePort
        configuration.stoppedAtEntry = true
        configuration.icountShift = manifest.icountShift
        configuration.icountSleep = false
        if let memory = manifest.memory { configuration.memory = memory }
        configuration.append = manifest.append
        configuration.recordReplay = RecordReplay(mode: .replay, eventLog: path(directory, manifest.eventLog), snapshotImage: scratch)
        return (configuration, manifest)
    }

    /// The fault firings of a recorded scenario, as a replay re-applies them (`Session.replayInjections`):
    /// each at its instruction count with its exact writes. A trace without them (recorded before
    /// firings noted their positions) is refused with one line: its replay would diverge.
    public static func injections(of directory: String, manifest: RecordingManifest) throws(RecordingError) -> [ReplayInjection] {
        guard let name = manifest.trace else { return [] }
        let trace: FaultTrace
        do throws(FaultInjectionError) { trace = try FaultTrace.read(from: path(directory, name)) } catch {
            throw .unreadable(error.description)
        }
        var injections: [ReplayInjection] = []
        for hit in trace.hits {
            guard let icount = hit.icount, let writes = hit.writes else {
                throw .unreadable("\(directory): firing #\(hit.sequence) has no instruction count (record it again with this mmdbg)")
            }
            injections.append(ReplayInjection(index: hit.sequence, icount: icount, pc: hit.pc,
                                              label: (hit.location.map { $0 + " " } ?? "") + hit.action, writes: writes))
        }
        return injections
    }

    static func path(_ directory: String, _ file: String) -> String { (directory as NSString).appendingPathComponent(file) }
}

/// A QEMU replaying a recording, stopped at its start with the gdbstub listening,
/// and the scratch copy of the snapshot image it writes into. `stop()` kills QEMU
/// and removes the scratch file (call it however the replay ends).
public final class ReplayLaunch {
    public let qemu: QEMUInstance
    public let manifest: RecordingManifest
    public let configuration: QEMUConfiguration
    public let scratch: String
    /// The recorded scenario's fault firings: give them to the session (`Session.replayInjections`).
    public let injections: [ReplayInjection]

    /// Refused with one line (`RecordingError`) for another kernel image or QEMU;
    /// `.failed` when QEMU does not start.
    public init(directory: String, kernel: String? = nil) throws(RecordingError) {
        let scratch = NSTemporaryDirectory() + "mmdbg-replay-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).qcow2"
        let (configuration, manifest) = try Recording.replayConfiguration(directory, kernel: kernel, scratch: scratch)
        let injections: [ReplayInjection]
        do throws(RecordingError) { injections = try Recording.injections(of: directory, manifest: manifest) } catch {
            try? FileManager.default.removeItem(atPath: scratch)
            throw error
        }
        self.injections = injections
        do throws(QEMUError) { qemu = try QEMUInstance(configuration) } catch {
            try? FileManager.default.removeItem(atPath: scratch)
            throw .failed("cannot start QEMU to replay: \(error.description)")
        }
        self.manifest = manifest
        self.configuration = configuration
        self.scratch = scratch
    }

    public func stop() {
        qemu.stop()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    deinit { stop() }
}
