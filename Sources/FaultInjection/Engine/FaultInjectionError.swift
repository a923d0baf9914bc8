import MmdbgCore
/// Why an injection, a scenario or a replay failed; each prints as one line.
public enum FaultInjectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The target or its transport failed (message from GdbRemote).
    case target(String)
    /// A target call failed: the session's own error, kept as it is (a lost connection stays one).
    case command(CommandError)
    /// Kernel structures could not be decoded (message from Inspect).
    case inspection(String)
    /// No task with this pid is in the task table.
    case noSuchTask(Int64)
    /// The task's VA has no page descriptor to corrupt.
    case noPageDescriptor(pid: Int64, virtualAddress: UInt64)
    /// A scenario or trace file could not be read or parsed.
    case badFile(path: String, line: Int?, reason: String)
    /// The trace was recorded on another kernel image.
    case imageMismatch(expected: String, actual: String)

    public var description: String {
        switch self {
        case .target(let why): return "target: \(why)"
        case .command(let error): return error.description
        case .inspection(let why): return "kernel inspection: \(why)"
        case .noSuchTask(let pid): return "no task with pid \(pid)"
        case .noPageDescriptor(let pid, let va): return "pid \(pid) has no page descriptor for \(Hex.format(va))"
        case .badFile(let path, let line, let reason): return "\(path)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case .imageMismatch(let expected, let actual):
            return "the trace was recorded on kernel image \(expected), this image is \(actual)"
        }
    }
}
