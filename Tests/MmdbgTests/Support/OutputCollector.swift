import Foundation

/// Thread-safe accumulation of a child's stdout and stderr (for the terminal
/// session, which drives mmdbg interactively instead of running it to completion).
final class OutputCollector: @unchecked Sendable {
    struct Buffers { var stdout = Data(); var stderr = Data() }
    private let lock = NSLock()
    private var buffers = Buffers()

    func append(_ key: WritableKeyPath<Buffers, Data>, _ data: Data) {
        lock.lock(); buffers[keyPath: key].append(data); lock.unlock()
    }

    func text(_ key: KeyPath<Buffers, Data>) -> String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: buffers[keyPath: key], as: UTF8.self)
    }
}
