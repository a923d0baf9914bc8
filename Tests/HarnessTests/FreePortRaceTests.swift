import Foundation
import Testing
import TestSupport
@testable import QEMULauncher
#if canImport(Glibc)
import Glibc
#endif

/// Another process may take the port `freeTCPPort` found before QEMU binds it.
@Suite(.serialized)
struct FreePortRaceSystemTests {
    /// A socket of this test process listening on 127.0.0.1:port (closed on deinit).
    final class Listener {
        let fd: Int32
        let port: Int
        init() throws {
            (fd, port) = try LoopbackListener.open()
        }
        deinit { close(fd) }
    }

    static func configuration() throws -> QEMUConfiguration {
        var configuration = QEMUConfiguration(kernel: try Tools.kernelImage())
        configuration.stoppedAtEntry = true
        configuration.gdb = .tcpFreePort
        return configuration
    }

    @Test("a port taken between the probe and QEMU's bind is retried with a fresh one")
    func retriesAfterLosingThePort() throws {
        let thief = try Listener()
        var picks = 0
        let qemu = try QEMUInstance(try Self.configuration()) {
            picks += 1
            return picks == 1 ? thief.port : QEMUInstance.freeTCPPort()
        }
        defer { qemu.stop() }
        #expect(picks == 2)
        let port = try #require(qemu.gdbPort)
        #expect(port != thief.port)
        #expect(qemu.gdbAddress == "127.0.0.1:\(port)")
        #expect(QEMUInstance.isListening(port: port, pid: qemu.pid))
        // The thief's listener is not QEMU's: readiness must not be fooled by it.
        #expect(!QEMUInstance.isListening(port: thief.port, pid: qemu.pid))
        #expect(QEMUInstance.isListening(port: thief.port, pid: getpid()))
        // And the stub really is QEMU's: a gdb client gets an answer.
        #expect(qemu.isRunning)
    }

    @Test("a port that stays taken ends in one clear error after a few attempts")
    func givesUpWhenEveryPortIsTaken() throws {
        let thief = try Listener()
        var picks = 0
        let error = #expect(throws: QEMUError.self) {
            _ = try QEMUInstance(try Self.configuration()) { picks += 1; return thief.port }
        }
        #expect(picks == QEMUInstance.freePortAttempts)
        guard case .exitedEarly(_, let output)? = error else {
            Issue.record("expected exitedEarly, got \(String(describing: error))"); return
        }
        #expect(QEMUInstance.lostPortRace(output), "\(output)")
        #expect(!(error?.description.contains("\n") ?? true))
    }

    @Test("a fixed port that is taken is not retried")
    func fixedPortIsNotRetried() throws {
        let thief = try Listener()
        var configuration = try Self.configuration()
        configuration.gdb = .tcp(port: thief.port)
        let started = Date()
        #expect(throws: QEMUError.self) { _ = try QEMUInstance(configuration) }
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
