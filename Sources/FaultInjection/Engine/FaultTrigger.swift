import GdbRemote
/// Where a fault fires: the entry of a function (a breakpoint on its first
/// instruction) or an access to data (a watchpoint).
public enum FaultTrigger: Equatable, Sendable, Codable {
    /// A software breakpoint at `address` (normally an ELF symbol's entry).
    case entry(symbol: String?, address: UInt64)
    /// A watchpoint of `kind` over `length` bytes at `address`.
    case watch(kind: WatchKind, symbol: String?, address: UInt64, length: Int)
    /// No trigger: the action applies once, at once, to the stopped target.
    case now

    /// The access a watchpoint trigger reacts to.
    public enum WatchKind: String, Sendable, Codable, CaseIterable {
        case write, read, access
    }

    /// The stop address the trigger owns (breakpoint PC or watched address).
    public var address: UInt64 {
        switch self {
        case .entry(_, let address), .watch(_, _, let address, _): return address
        case .now: return 0
        }
    }

    /// `get_free_page`, `watch write mm_pool+0x10 (8)`.
    public var description: String {
        switch self {
        case .now: return "now"
        case .entry(let symbol, let address): return symbol ?? Hex.format(address)
        case .watch(let kind, let symbol, let address, let length):
            return "watch \(kind.rawValue) \(symbol ?? Hex.format(address)) (\(length))"
        }
    }
}

