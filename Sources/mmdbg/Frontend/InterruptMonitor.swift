import Foundation

/// Turns Ctrl-C (SIGINT) into a request the session polls while the target
/// runs, so Ctrl-C interrupts the target instead of killing mmdbg. Outside a
/// run, `idleAction` decides (the prompt ignores it; batch mode quits).
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
                lock.lock(); pending = true; lock.unlock()
            } else {
                idleAction()
            }
        }
        source.resume()
        self.source = source
    }

    /// On SIGHUP (terminal closed) or SIGTERM, runs `cleanup` (which kills
    /// the QEMU mmdbg launched) and exits 128+signal: QEMU must not outlive us.
    func installTermination(_ cleanup: @escaping @Sendable () -> Void) {
        for number in [SIGHUP, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: DispatchQueue.global())
            source.setEventHandler {
                cleanup()
                exit(128 + number)
            }
            source.resume()
            terminationSources.append(source)
        }
    }
    private var terminationSources: [DispatchSourceSignal] = []

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
