/// The narrow view of a debug connection the commands need. Backed by the
/// GdbRemote client (see `GdbTarget`); nothing here speaks the protocol.
public protocol DebugTarget: AnyObject {
    /// Register names the target describes (core and system), for `regs` and completion.
    var registerNames: [String] { get }
    /// Reads registers by name (case-insensitive), in the order given: exactly one value per name or an error.
    func readRegisters(_ names: [String]) throws(CommandError) -> [UInt64]
    /// Reads memory; `physical` uses the stub's physical-memory mode, scoped to this call.
    func readMemory(at address: UInt64, count: Int, physical: Bool) throws(CommandError) -> [UInt8]
    func insertBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError)
    func removeBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError)
    /// Resumes the target (stepping over a breakpoint at PC first); returns at once.
    func resume() throws(CommandError)
    /// Waits up to `timeout` seconds for the running target to stop; nil = still running.
    func waitForStop(timeout: Double) throws(CommandError) -> StopEvent?
    /// Executes one instruction and returns the stop.
    func stepInstruction() throws(CommandError) -> StopEvent
    /// Stops a running target.
    func interrupt(timeout: Double) throws(CommandError) -> StopEvent
    /// A QEMU monitor command; returns its text output.
    func monitor(_ command: String) throws(CommandError) -> String
    /// Leaves the target running and closes the connection.
    func detach()
    /// Closes the connection without resuming.
    func close()
}

/// Breakpoint and watchpoint kinds (GDB `Z0`–`Z4`).
public enum BreakpointKind: String, Sendable, CaseIterable {
    case software = "break"
    case hardware = "hbreak"
    case writeWatch = "watch"
    case readWatch = "rwatch"
    case accessWatch = "awatch"

    public var isWatchpoint: Bool { self == .writeWatch || self == .readWatch || self == .accessWatch }
}

/// Why the target stopped, as far as the commands care.
public enum StopEvent: Equatable, Sendable {
    /// Stopped by a signal (5 = trap: breakpoint or step; 2 = interrupt).
    case signal(Int)
    /// A watchpoint fired before the access to `address`.
    case watchpoint(BreakpointKind, address: UInt64)
    /// The program (QEMU) exited with this status.
    case exited(Int)
    /// The target was killed by a signal.
    case terminated(Int)

    public var summary: String {
        switch self {
        case .signal(5): return "trap"
        case .signal(2): return "interrupted"
        case .signal(let n): return "signal \(n)"
        case .watchpoint(let kind, let address): return "\(kind.rawValue) \(Hex.format(address))"
        case .exited(let status): return "exited with status \(status)"
        case .terminated(let signal): return "terminated by signal \(signal)"
        }
    }

    public var targetIsGone: Bool {
        switch self {
        case .exited, .terminated: return true
        default: return false
        }
    }
}

/// ELF symbols for expressions, `sym`, `addr` and completion.
public protocol SymbolTable: AnyObject {
    func address(of name: String) -> UInt64?
    /// `(name, offset)` of the symbol that contains `address` (a sized symbol its
    /// `[start, start+size)`, a label up to the next symbol within its section),
    /// or nil: no label is ever invented from a distant symbol.
    func symbolicate(_ address: UInt64) -> (name: String, offset: UInt64)?
    /// Every symbol name (for completion).
    var names: [String] { get }
    /// Where the symbols came from (file path).
    var source: String { get }
}

extension SymbolTable {
    /// `describe(address)` only when the address is plausibly code or data
    /// (within 1 MiB of the symbol), so plain register values stay unlabelled.
    public func nearby(_ address: UInt64) -> String? {
        guard let (_, offset) = symbolicate(address), offset < 0x10_0000 else { return nil }
        return describe(address)
    }

    /// `name+0x10`, `name`, or nil.
    public func describe(_ address: UInt64) -> String? {
        guard let (name, offset) = symbolicate(address) else { return nil }
        return offset == 0 ? name : "\(name)+\(Hex.format(offset))"
    }
}
