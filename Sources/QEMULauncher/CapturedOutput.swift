import Foundation

/// QEMU's output, collected as it arrives, with waits that wake on new output
/// or on exit. Two pipes: stdout is the guest's serial console (`-serial
/// stdio`), stderr QEMU's own diagnostics. One shared pipe let a QEMU warning
/// printed at power-off ("icount sleep disabled and no active timers", only on
/// some runs) land inside the console transcript, which must be byte-exact.
final class CapturedOutput: @unchecked Sendable {
    private var serial = Data()
    private var diagnostics = Data()
    private let changed = NSCondition()
    /// Called once QEMU has exited (from Foundation's termination handler).
    var onExit: (@Sendable () -> Void)? {
        get { changed.lock(); defer { changed.unlock() }; return exitAction }
        set { changed.lock(); exitAction = newValue; changed.unlock() }
    }
    private var exitAction: (@Sendable () -> Void)?

    func capture(from process: Process) {
        process.standardOutput = collect(serial: true)
        process.standardError = collect(serial: false)
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.onExit?()
            self.changed.lock()
            self.changed.broadcast()
            self.changed.unlock()
        }
    }

    /// A pipe whose output is appended to the serial or the diagnostics buffer as it arrives.
    private func collect(serial isSerial: Bool) -> Pipe {
        let pipe = Pipe()
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.changed.lock()
            if chunk.isEmpty {
                handle.readabilityHandler = nil
            } else if isSerial {
                self.serial.append(chunk)
            } else {
                self.diagnostics.append(chunk)
            }
            self.changed.broadcast()
            self.changed.unlock()
        }
        return pipe
    }

    /// The guest's serial console.
    var text: String {
        changed.lock(); defer { changed.unlock() }
        return String(decoding: serial, as: UTF8.self)
    }

    /// QEMU's own messages (warnings, errors such as a port already in use).
    var diagnosticsText: String {
        changed.lock(); defer { changed.unlock() }
        return String(decoding: diagnostics, as: UTF8.self)
    }

    /// Both, for error messages: QEMU's messages first, then the console.
    var everything: String {
        changed.lock(); defer { changed.unlock() }
        return Self.joined(diagnostics, serial)
    }

    private static func joined(_ diagnostics: Data, _ serial: Data) -> String {
        let first = String(decoding: diagnostics, as: UTF8.self), second = String(decoding: serial, as: UTF8.self)
        if first.isEmpty { return second }
        return first.hasSuffix("\n") || second.isEmpty ? first + second : first + "\n" + second
    }

    /// Gives the reader a moment to drain what QEMU wrote just before exiting.
    func settle() {
        changed.lock()
        _ = changed.wait(until: Date().addingTimeInterval(0.05))
        changed.unlock()
    }

    func waitUntil(process: Process, timeout: Double, what: String,
                   _ predicate: (String, Bool) -> Bool) throws(QEMUError) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        changed.lock()
        defer { changed.unlock() }
        while true {
            let text = String(decoding: serial, as: UTF8.self)
            let running = process.isRunning
            if predicate(text, running) { return text }
            if !running {
                throw .exitedEarly(status: process.terminationStatus, output: Self.joined(diagnostics, serial))
            }
            if !changed.wait(until: deadline) && Date() >= deadline {
                throw .timedOut(waitingFor: what, seconds: timeout, lastOutput: Self.joined(diagnostics, serial))
            }
        }
    }
}
