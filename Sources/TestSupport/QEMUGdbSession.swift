import Foundation
import GdbRemote
import QEMULauncher

/// A QEMU started stopped at its first instruction with a gdbstub on a free
/// port, and a client connected to it. `stop()` (call it in `defer`) closes
/// the client and kills QEMU by PID.
public final class QEMUGdbSession {
    public let qemu: QEMUInstance
    public let client: GdbClient

    /// Boots `kernel` (default: the tiny guest) stopped at its first instruction
    /// (or running, with `startStopped: false`), and connects. `timeout` bounds the
    /// connect and each reply: generous, since several suites boot QEMU at once
    /// on a two-core host.
    public init(kernel: String? = nil, smp: Int = 1, unixSocket: Bool = false, startStopped: Bool = true,
                timeout: Double = 30) throws {
        _ = try Tools.require("qemu-system-aarch64", package: "qemu-system-arm")
        var configuration = QEMUConfiguration(kernel: try kernel ?? TinyGuest.image())
        configuration.smp = smp
        configuration.stoppedAtEntry = startStopped
        let socketDirectory = unixSocket ? FileManager.default.temporaryDirectory.appendingPathComponent("mmdbg-gdb-\(UUID().uuidString.prefix(8))") : nil
        if let socketDirectory {
            try FileManager.default.createDirectory(at: socketDirectory, withIntermediateDirectories: true)
            configuration.gdb = .unixSocket(path: socketDirectory.appendingPathComponent("gdb.sock").path)
        } else {
            configuration.gdb = .tcpFreePort
        }
        let qemu = try QEMUInstance(configuration)
        do {
            let address: GdbAddress
            switch configuration.gdb {
            case .unixSocket(let path): address = .unix(path: path)
            default: address = .tcp(host: "127.0.0.1", port: qemu.gdbPort!)
            }
            client = try GdbClient.connect(to: address, timeout: timeout)
        } catch {
            qemu.stop()
            throw error
        }
        self.qemu = qemu
    }

    /// Closes the client and kills QEMU.
    public func stop() {
        client.close()
        qemu.stop()
    }
}
