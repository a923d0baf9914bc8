import Foundation

/// QEMU's stdout and stderr, collected as they arrive, with waits that wake on
/// new output or on exit.
final class CapturedOutput: @unchecked Sendable {
    private var data = Data()
    private let changed = NSCondition()
    /// Called once QEMU has exited (from Foundation's termination handler).
    var onExit: (@Sendable () -> Void)? {
        get { changed.lock(); defer { changed.unlock() }; return exitAction }
        set { changed.lock(); exitAction = newValue; changed.unlock() }
    }
    private var exitAction: (@Sendable () -> Void)?

    func capture(from process: Process) {
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.changed.lock()
            if chunk.isEmpty { handle.readabilityHandler = nil } else { self.data.append(chunk) }
            self.changed.broadcast()
            self.changed.unlock()
        }
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.onExit?()
            self.changed.lock()
            self.changed.broadcast()
            self.changed.unlock()
        }
    }

    var text: String {
        changed.lock(); defer { changed.unlock() }
        return String(decoding: data, as: UTF8.self)
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
            let text = String(decoding: data, as: UTF8.self)
            let running = process.isRunning
            if predicate(text, running) { return text }
            if !running {
                throw .exitedEarly(status: process.terminationStatus, output: text)
            }
            if !changed.wait(until: deadline) && Date() >= deadline {
                throw .timedOut(waitingFor: what, seconds: timeout, lastOutput: String(decoding: data, as: UTF8.self))
            }
        }
    }
}
