import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Every QEMU this process started, killed by PID when the process ends in any
/// way it can still act on: a normal exit (`atexit`), or a crash or termination
/// signal (SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGTERM, SIGHUP).
/// SIGKILL cannot be caught: `ParentDeathWatchdog` covers it.
///
/// The same paths unlink the shared RAM files of launches still in progress
/// (created, not yet mapped and unlinked: `SharedRAMFile`).
///
/// SIGINT is deliberately left out: mmdbg installs its own SIGINT handler to
/// interrupt the target, and Ctrl-C must not kill QEMU. If SIGINT's default
/// action does end the process, the watchdog still kills QEMU.
///
/// The PIDs live in a fixed array of plain `Int32` slots so the signal handler
/// only reads memory and calls `kill()` (async-signal-safe); it then restores
/// the previous action (a chained handler such as Swift's backtracer, or the
/// default) and lets the signal take it.
final class LiveQEMUs: @unchecked Sendable {
    static let shared = LiveQEMUs()
    static let capacity = 256
    static let fatalSignals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGTERM, SIGHUP]

    private let lock = NSLock()

    private init() {
        // Touch the globals now: the handler must never be the first to initialise them.
        _ = liveQEMUSlots
        _ = pendingFileSlots
        _ = previousSignalActions
        atexit { killEveryLiveQEMU() }
        for signal in Self.fatalSignals { installKillingHandler(for: signal) }
    }

    func add(_ pid: Int32) {
        lock.lock(); defer { lock.unlock() }
        for slot in 0..<Self.capacity where liveQEMUSlots[slot] == 0 {
            liveQEMUSlots[slot] = pid
            return
        }
        // More than `capacity` live QEMUs: the watchdog alone covers the rest.
    }

    func remove(_ pid: Int32) {
        lock.lock(); defer { lock.unlock() }
        for slot in 0..<Self.capacity where liveQEMUSlots[slot] == pid { liveQEMUSlots[slot] = 0 }
    }

    /// A file to unlink if this process ends before `removePendingFile(path)`.
    func addPendingFile(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        for slot in 0..<Self.capacity where pendingFileSlots[slot] == nil {
            pendingFileSlots[slot] = strdup(path)
            return
        }
    }

    func removePendingFile(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        for slot in 0..<Self.capacity {
            guard let entry = pendingFileSlots[slot], String(cString: entry) == path else { continue }
            pendingFileSlots[slot] = nil
            free(entry)
        }
    }

    func snapshot() -> [Int32] {
        lock.lock(); defer { lock.unlock() }
        return (0..<Self.capacity).map { liveQEMUSlots[$0] }.filter { $0 > 0 }
    }
}

/// The PID slots (0 = free), read lock-free by the signal handler.
nonisolated(unsafe) private let liveQEMUSlots: UnsafeMutablePointer<Int32> = {
    let slots = UnsafeMutablePointer<Int32>.allocate(capacity: LiveQEMUs.capacity)
    slots.initialize(repeating: 0, count: LiveQEMUs.capacity)
    return slots
}()

/// Paths (strdup'ed C strings) unlinked by the handler; nil = free slot.
nonisolated(unsafe) private let pendingFileSlots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
    let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: LiveQEMUs.capacity)
    slots.initialize(repeating: nil, count: LiveQEMUs.capacity)
    return slots
}()

/// The action each signal had before ours, indexed by signal number.
nonisolated(unsafe) private let previousSignalActions: UnsafeMutablePointer<sigaction> = {
    let actions = UnsafeMutablePointer<sigaction>.allocate(capacity: Int(NSIG))
    actions.initialize(repeating: sigaction(), count: Int(NSIG))
    return actions
}()

private func killEveryLiveQEMU() {
    for slot in 0..<LiveQEMUs.capacity {
        let pid = liveQEMUSlots[slot]
        if pid > 0 { kill(pid, SIGKILL) }
    }
    // unlink() is async-signal-safe; a slot being freed concurrently is a race
    // the handler accepts (the file is then unlinked by its owner anyway).
    for slot in 0..<LiveQEMUs.capacity {
        if let path = pendingFileSlots[slot] { unlink(path) }
    }
}

private func installKillingHandler(for signal: Int32) {
    // A signal the process ignores (SIGHUP under nohup) must stay ignored.
    var current = sigaction()
    sigaction(signal, nil, &current)
    if unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 1 /* SIG_IGN */ { return }
    var action = sigaction()
    action.__sigaction_handler.sa_sigaction = { signal, info, _ in
        killEveryLiveQEMU()
        // Hand the signal to whoever had it before (handler or default action).
        sigaction(signal, previousSignalActions + Int(signal), nil)
        // A fault raised by the CPU (si_code > 0) happens again when this handler
        // returns; a sent signal (kill, raise, abort: si_code <= 0) must be re-sent.
        if info == nil || info!.pointee.si_code <= 0 { raise(signal) }
    }
    action.sa_flags = SA_SIGINFO | SA_ONSTACK
    sigemptyset(&action.sa_mask)
    sigaction(signal, &action, previousSignalActions + Int(signal))
}
