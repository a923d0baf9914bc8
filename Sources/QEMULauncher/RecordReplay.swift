import Foundation

/// QEMU's record/replay (`-icount shift=N,rr=record|replay,rrfile=F,rrsnapshot=init`
/// with a qcow2 drive `id=rr` for the snapshots, `-net none`). Recording writes the
/// event log and the `init` snapshot; replaying reads them, and the gdbstub then
/// offers reverse step and continue. Both need `QEMUConfiguration.icountShift`.
public struct RecordReplay: Sendable, Equatable {
    public enum Mode: String, Sendable {
        case record
        case replay
    }

    public var mode: Mode
    /// QEMU's event log (`rrfile=`).
    public var eventLog: String
    /// The qcow2 image the snapshots live in (blank for a recording; written by replay's `savevm`).
    public var snapshotImage: String

    /// The snapshot QEMU takes at the start of a recording and loads at the start of a replay.
    public static let initialSnapshot = "init"
    /// Size of the blank snapshot image (qcow2 grows as needed; this only bounds it).
    public static let snapshotImageSize = "64M"

    public init(mode: Mode, eventLog: String, snapshotImage: String) {
        self.mode = mode
        self.eventLog = eventLog
        self.snapshotImage = snapshotImage
    }

    /// Creates a blank qcow2 image for the snapshots (`qemu-img create -f qcow2 PATH 64M`).
    public static func createSnapshotImage(at path: String, deadline seconds: Double = 30) throws(QEMUError) {
        let output = try runTool("qemu-img", ["create", "-q", "-f", "qcow2", path, snapshotImageSize], deadline: seconds)
        guard FileManager.default.fileExists(atPath: path) else {
            throw .launchFailed("qemu-img did not create \(path): \(output)")
        }
    }

    /// `qemu-system-aarch64 --version`'s first line (what a recording must be replayed with).
    public static func qemuVersion(executable: String = "qemu-system-aarch64") throws(QEMUError) -> String {
        let output = try runTool(executable, ["--version"], deadline: 30)
        return output.split(separator: "\n").first.map(String.init) ?? output
    }

    /// Runs a QEMU tool found on PATH to completion within `deadline` seconds; returns stdout and stderr.
    static func runTool(_ name: String, _ arguments: [String], deadline seconds: Double) throws(QEMUError) -> String {
        guard let executable = QEMUInstance.findExecutable(name) else { throw .executableNotFound(name) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw .launchFailed("\(executable): \(error)") }
        let data = ReadAll(pipe.fileHandleForReading)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw .timedOut(waitingFor: name, seconds: seconds, lastOutput: data.text)
        }
        process.waitUntilExit()
        let text = data.text
        guard process.terminationStatus == 0 else {
            throw .launchFailed("\(name) \(arguments.joined(separator: " ")) failed (status \(process.terminationStatus)): \(text)")
        }
        return text
    }
}

/// Reads a pipe to its end on a background queue (a full pipe would block the tool).
private final class ReadAll: @unchecked Sendable {
    private var data = Data()
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            let all = handle.readDataToEndOfFile()
            self.lock.lock()
            self.data = all
            self.lock.unlock()
            self.done.signal()
        }
    }

    var text: String {
        _ = done.wait(timeout: .now() + 2)
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}
