/// A thread id as the protocol writes it: `p<pid>.<tid>` with multiprocess
/// extensions, or a bare `<tid>`. -1 means all, 0 means any.
public struct ThreadID: Hashable, Sendable, CustomStringConvertible {
    /// The process id (`p01` part), if the stub sent one.
    public var process: Int?
    /// The thread id; on QEMU, vCPU index + 1.
    public var thread: Int

    /// A thread id; `process` nil omits the `p<pid>.` part.
    public init(process: Int? = nil, thread: Int) {
        self.process = process
        self.thread = thread
    }

    /// All threads (`-1`).
    public static let all = ThreadID(thread: -1)
    /// Any thread (`0`).
    public static let any = ThreadID(thread: 0)

    /// Parses `p01.02`, `p1.-1`, `02`, `-1`.
    public init?(parsing text: Substring) {
        func number(_ s: Substring) -> Int? {
            if s == "-1" { return -1 }
            guard let v = Hex.number(s), v <= UInt64(Int32.max) else { return nil }
            return Int(v)
        }
        if text.hasPrefix("p") {
            let parts = text.dropFirst().split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard let pid = number(parts[0]) else { return nil }
            if parts.count == 1 { self.init(process: pid, thread: -1); return }
            guard let tid = number(parts[1]) else { return nil }
            self.init(process: pid, thread: tid)
        } else {
            guard let tid = number(text) else { return nil }
            self.init(thread: tid)
        }
    }

    /// Wire form; `multiprocess` selects the `p<pid>.<tid>` syntax.
    public func encoded(multiprocess: Bool) -> String {
        func hex(_ v: Int) -> String { v < 0 ? "-1" : String(v, radix: 16) }
        if multiprocess { return "p\(hex(process ?? 1)).\(hex(thread))" }
        return hex(thread)
    }

    public var description: String { process.map { "p\($0).\(thread)" } ?? "\(thread)" }
}
