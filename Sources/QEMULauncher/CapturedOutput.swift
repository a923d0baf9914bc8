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
    /// The read ends of both pipes, to see whether QEMU wrote something not collected yet.
    private var readers: [FileHandle] = []
    /// Handlers between reading a chunk and appending it (guarded by `changed`).
    private var chunksInFlight = 0

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
        readers.append(pipe.fileHandleForReading)
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            // Counted before the read, so `drain` never sees the pipe empty while a
            // chunk is on its way into the buffer.
            self?.changed.lock()
            self?.chunksInFlight += 1
            self?.changed.unlock()
            let chunk = handle.availableData
            guard let self else { return }
            self.changed.lock()
            self.chunksInFlight -= 1
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

    /// The guest's serial console, including every byte QEMU has written so
    /// far: the reader runs on another thread, so bytes the guest printed just
    /// before a breakpoint stop can still be in the pipe when the stop is
    /// reported. Decide on this text, not on when a loaded host ran the reader.
    var text: String {
        changed.lock(); defer { changed.unlock() }
        drainLocked(until: Date().addingTimeInterval(Self.drainLimit))
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

    /// How long a drain may wait for the reader: only a host that does not run
    /// it for that long, or a guest that never stops printing, reaches it.
    static let drainLimit = 10.0

    /// Waits until everything QEMU has written so far is in the buffers (nothing
    /// left in either pipe, no chunk on its way), at most `drainLimit` seconds.
    /// QEMU writes the console synchronously as the guest stores to the UART,
    /// so with the VM stopped (or QEMU exited) this is all the guest printed.
    func drain() {
        changed.lock(); defer { changed.unlock() }
        drainLocked(until: Date().addingTimeInterval(Self.drainLimit))
    }

    /// `drain` with `changed` held, until `deadline` at the latest.
    private func drainLocked(until deadline: Date) {
        while chunksInFlight > 0 || readers.contains(where: Self.hasUnreadBytes), Date() < deadline {
            // A reader appending broadcasts; the short slice covers a pipe whose
            // handler has not been scheduled yet.
            _ = changed.wait(until: min(deadline, Date().addingTimeInterval(0.01)))
        }
    }

    /// Whether the pipe holds bytes nobody has read (poll, which reads nothing).
    private static func hasUnreadBytes(_ handle: FileHandle) -> Bool {
        var entry = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0 && entry.revents & Int16(POLLIN) != 0
    }

    func waitUntil(process: Process, timeout: Double, what: String,
                   _ predicate: (String, Bool) -> Bool) throws(QEMUError) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var drained = false
        changed.lock()
        defer { changed.unlock() }
        while true {
            let text = String(decoding: serial, as: UTF8.self)
            let running = process.isRunning
            if predicate(text, running) { return text }
            if !running {
                // What QEMU wrote just before exiting may still be in the pipes.
                if !drained {
                    drained = true
                    drainLocked(until: min(deadline, Date().addingTimeInterval(Self.drainLimit)))
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
