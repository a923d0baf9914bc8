import Foundation

/// QEMU's output, collected as it arrives, with waits that wake on new output
/// or on exit. Two pipes: stdout is the guest's serial console (`-serial
/// stdio`), stderr QEMU's own diagnostics. One shared pipe let a QEMU warning
/// printed at power-off ("icount sleep disabled and no active timers", only on
/// some runs) land inside the console transcript, which must be byte-exact.
final class CapturedOutput: @unchecked Sendable {
    private var serial = Data()
    private var diagnostics = Data()
    /// Pipes that reached end of file (QEMU closed them, i.e. exited).
    private var pipesAtEnd = 0
    /// The read ends, to see whether bytes are still waiting in them.
    private var readEnds: [Int32] = []
    /// Handlers between reading a chunk and appending it: the pipe looks empty
    /// then, but the bytes are not in the buffer yet.
    private var chunksInFlight = 0
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
        readEnds.append(pipe.fileHandleForReading.fileDescriptor)
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            self?.changed.lock()
            self?.chunksInFlight += 1
            self?.changed.unlock()
            let chunk = handle.availableData
            guard let self else { return }
            self.changed.lock()
            self.chunksInFlight -= 1
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                self.pipesAtEnd += 1
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

    /// The guest's serial console, including every byte QEMU has written so
    /// far: the reader runs on another thread, so bytes the guest printed just
    /// before a breakpoint stop can still be in the pipe when the stop is
    /// reported. Waits (at most a second) until the pipe is empty.
    var text: String {
        changed.lock(); defer { changed.unlock() }
        let deadline = Date().addingTimeInterval(1)
        while pipesAtEnd < readEnds.count, chunksInFlight > 0 || unreadBytes(in: readEnds[0]) > 0,
              changed.wait(until: deadline) {}
        return String(decoding: serial, as: UTF8.self)
    }

    /// Bytes waiting in a pipe (0 once it is closed or on error).
    private func unreadBytes(in descriptor: Int32) -> Int32 {
        var count: Int32 = 0
        return ioctl(descriptor, UInt(FIONREAD), &count) == 0 ? count : 0
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

    /// Once QEMU has exited: waits until everything it wrote has been read
    /// (both pipes at end of file), at most `timeout` seconds. A fixed pause
    /// was not enough on a loaded machine: `expect uart` then missed the last
    /// lines a powered-off guest printed.
    func settle(timeout: Double = 5) {
        let deadline = Date().addingTimeInterval(timeout)
        changed.lock()
        while pipesAtEnd < 2 && changed.wait(until: deadline) {}
        changed.unlock()
    }

    func waitUntil(process: Process, timeout: Double, what: String,
                   _ predicate: (String, Bool) -> Bool) throws(QEMUError) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var drainDeadline: Date?
        changed.lock()
        defer { changed.unlock() }
        while true {
            let text = String(decoding: serial, as: UTF8.self)
            let running = process.isRunning
            if predicate(text, running) { return text }
            if !running {
                // What QEMU wrote just before exiting may still be in the pipes.
                let drained = drainDeadline ?? Date().addingTimeInterval(5)
                drainDeadline = drained
                if pipesAtEnd < 2 && Date() < min(drained, deadline) {
                    _ = changed.wait(until: min(drained, deadline))
                    continue
                }
                throw .exitedEarly(status: process.terminationStatus, output: Self.joined(diagnostics, serial))
            }
            if !changed.wait(until: deadline) && Date() >= deadline {
                throw .timedOut(waitingFor: what, seconds: timeout, lastOutput: Self.joined(diagnostics, serial))
            }
        }
    }
}
