import Foundation

/// Turns Ctrl-C (SIGINT) into a request the session polls while the target
/// runs, so Ctrl-C interrupts the target instead of killing mmdbg. Outside a
/// command, `idleAction` decides: the prompt calls `markPending()` and its
/// readline hook picks the request up on the main thread; batch mode quits.
/// The handler runs on a dispatch thread, so it only ever sets a flag: the
/// session is not thread-safe.
final class InterruptMonitor: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = false
    private var source: DispatchSourceSignal?
    /// True while a command runs (it may be waiting on the target).
    var commandRunning: () -> Bool = { false }
    var idleAction: () -> Void = {}

    func install() {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue.global())
        source.setEventHandler { [self] in
            if commandRunning() {
                markPending()
            } else {
                idleAction()
            }
        }
        source.resume()
        self.source = source
    }

    /// On SIGHUP (terminal closed) or SIGTERM: kills the QEMU mmdbg launched,
    /// by PID, and exits 128+signal at once. It touches no session state (the
    /// main thread may be using it) and skips exit handlers (they could wait
    /// on locks it holds). SIGPIPE (stdout closed, `mmdbg … | head`) is only
    /// ignored: writes then fail quietly and the session ends normally, which
    /// stops QEMU; a dispatch source for it wedged Foundation's child reaping.
    func installTermination(killing launchedPID: Int32?) {
        signal(SIGPIPE, SIG_IGN)
        for number in [SIGHUP, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue.global())
            source.setEventHandler {
                if let launchedPID { kill(launchedPID, SIGKILL) }
                _exit(128 + number)
            }
            source.resume()
            terminationSources.append(source)
        }
    }
    private var terminationSources: [DispatchSourceSignal] = []

    /// Records a Ctrl-C for the main thread to act on (`consume()`).
    func markPending() {
        lock.lock(); pending = true; lock.unlock()
    }

    /// Returns and clears a pending Ctrl-C.
    func consume() -> Bool {
        lock.lock(); defer { lock.unlock() }
        let was = pending
        pending = false
        return was
    }

    /// Drops a Ctrl-C that arrived before the run it would interrupt.
    func reset() { _ = consume() }
}
