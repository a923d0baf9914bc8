import Foundation
import MmdbgCore

/// A progress line on stderr for work that takes over half a second; erased
/// when the work ends (on a terminal) so it never mixes with results.
final class StderrProgress: ProgressSink, @unchecked Sendable {
    private let lock = NSLock()
    private var generation = 0
    private var shown = false
    private let isTerminal = isatty(STDERR_FILENO) == 1

    func begin(_ what: String) {
        lock.lock()
        generation += 1
        let mine = generation
        lock.unlock()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { [self] in
            lock.lock(); defer { lock.unlock() }
            guard generation == mine, !shown else { return }
            shown = true
            FileHandle.standardError.write(Data((isTerminal ? "\r… \(what)" : "… \(what)\n").utf8))
        }
    }

    func end() {
        lock.lock(); defer { lock.unlock() }
        generation += 1
        if shown && isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }
}
