import Foundation
#if canImport(Glibc)
import Glibc
#endif
import QEMULauncher
import TestSupport

/// What one batch run of gdb-multiarch printed, split per command.
struct GdbTranscript {
    let stdout: String
    let stderr: String
    let status: Int32
    /// stdout of each command, in order (found between the markers GdbBatch echoes).
    let outputs: [String]

    /// Everything, for failure messages.
    var all: String { "--- gdb stdout ---\n\(stdout)\n--- gdb stderr ---\n\(stderr)" }
}

/// Errors from running gdb, each one line.
enum GdbBatchError: Error, CustomStringConvertible {
    case noPackageRoot

    var description: String {
        switch self {
        case .noPackageRoot:
            return "cannot find the package root (run from the repository or set MMDBG_ROOT)"
        }
    }
}

/// Runs stock gdb-multiarch in batch mode with the gdb/ extension, attached
/// to a QEMU gdbstub. Each command's output is fenced by an echoed marker so
/// tests can look at one command at a time; gdb (and its process group) is killed at the deadline.
enum GdbBatch {
    static let marker = "@@mmdbg-gdb-command@@"

    /// A QEMU monitor command whose answer lands on stdout: batch gdb prints
    /// `monitor` replies on stderr, out of order with the fenced commands.
    static func monitor(_ command: String) -> String {
        "python gdb.write(gdb.execute(\"monitor \(command)\", to_string=True))"
    }

    /// The repository root (gdb/ and scripts/ live there).
    static func packageRoot() throws -> URL {
        guard let root = KernelImage.packageRoot() else { throw GdbBatchError.noPackageRoot }
        return root
    }

    /// gdb settings, the kernel's symbols and the extension, then `target remote`.
    static func prologue(kernel: String, gdbAddress: String, root: URL) -> [String] {
        ["set pagination off", "set confirm off", "set width 0", "set complaints 0",
         "file \(kernel)", "source \(root.appendingPathComponent("gdb/mmdbg.py").path)",
         "target remote \(gdbAddress)"]
    }

    /// Runs `setup` (unfenced) then `commands` (one output each).
    static func run(setup: [String] = [], commands: [String], extraArguments: [String] = [],
                    timeout: Double = 60) throws -> GdbTranscript {
        let gdb = try Tools.require("gdb-multiarch", package: "gdb-multiarch")
        let root = try packageRoot()
        var arguments = ["-batch", "-nx"] + extraArguments
        for command in setup { arguments += ["-ex", command] }
        for command in commands {
            arguments += ["-ex", "echo \\n\(marker)\\n", "-ex", command]
        }
        // A last fence keeps gdb's exit chatter ("detached") out of the last command's output.
        arguments += ["-ex", "echo \\n\(marker)\\n"]
        let result = try ChildProcess.run(gdb, arguments, timeout: timeout, currentDirectory: root.path)
        let stdout = result.stdout, stderr = result.stderr
        let pieces = stdout.components(separatedBy: "\n\(marker)\n").dropFirst().dropLast()
        return GdbTranscript(stdout: stdout, stderr: stderr, status: result.status,
                             outputs: Array(pieces))
    }
}

/// The bundled kernel under a real QEMU (stopped at entry, gdbstub on a free
/// port) with gdb-multiarch attached through the gdb/ extension.
final class KernelUnderGdb {
    let qemu: QEMUInstance
    let kernel: String

    /// `icountShift`: deterministic instruction counting, so two boots see the same schedule.
    /// `cpus`: QEMU's -smp.
    init(append: String? = nil, icountShift: Int? = nil, cpus: Int = 1) throws {
        kernel = try Tools.kernelImage()
        var configuration = Self.configuration(kernel: kernel, append: append, icountShift: icountShift)
        configuration.smp = cpus
        qemu = try QEMUInstance(configuration)
    }

    /// The QEMU configuration these tests use: stopped at entry, gdbstub on a free port.
    static func configuration(kernel: String, append: String? = nil, icountShift: Int? = nil) -> QEMUConfiguration {
        var configuration = QEMUConfiguration.stoppedForDebugger(kernel: kernel)
        configuration.append = append
        configuration.icountShift = icountShift
        return configuration
    }

    /// Runs `commands` after the standard prologue and `setup`; QEMU keeps running afterwards
    /// (gdb detaches), so call this once per instance.
    func gdb(setup: [String] = [], _ commands: [String], timeout: Double = 60) throws -> GdbTranscript {
        let root = try GdbBatch.packageRoot()
        return try GdbBatch.run(setup: GdbBatch.prologue(kernel: kernel, gdbAddress: qemu.gdbAddress!, root: root) + setup,
                                commands: commands, timeout: timeout)
    }

    func stop() { qemu.stop() }
}

/// Hex number parsing for gdb and monitor output.
func hexValue(_ text: Substring) -> UInt64? {
    // QEMU's monitor ends lines with \r\n.
    let word = text.trimmingCharacters(in: .whitespacesAndNewlines)
    return UInt64(word.hasPrefix("0x") ? String(word.dropFirst(2)) : word, radix: 16)
}
