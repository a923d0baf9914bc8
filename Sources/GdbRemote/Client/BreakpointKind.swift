/// The `Z`/`z` packet types.
public enum BreakpointKind: Int, Sendable, Hashable, CustomStringConvertible {
    case software = 0
    case hardware = 1
    case writeWatchpoint = 2
    case readWatchpoint = 3
    case accessWatchpoint = 4

    /// True for the three watchpoint kinds.
    public var isWatchpoint: Bool { rawValue >= 2 }

    public var description: String {
        switch self {
        case .software: return "breakpoint"
        case .hardware: return "hardware breakpoint"
        case .writeWatchpoint: return "write watchpoint"
        case .readWatchpoint: return "read watchpoint"
        case .accessWatchpoint: return "access watchpoint"
        }
    }
}

/// A breakpoint or watchpoint the client has inserted.
public struct Breakpoint: Hashable, Sendable {
    public var kind: BreakpointKind
    public var address: UInt64
    /// Bytes watched, or the instruction size (4 on AArch64) for breakpoints.
    public var length: Int

    /// A stop point of `kind` covering `length` bytes at `address`.
    public init(kind: BreakpointKind, address: UInt64, length: Int) {
        self.kind = kind
        self.address = address
        self.length = length
    }

    /// True if `address` lies in the watched/breakpoint range.
    public func covers(_ address: UInt64) -> Bool {
        address >= self.address && address - self.address < UInt64(max(length, 1))
    }
}
