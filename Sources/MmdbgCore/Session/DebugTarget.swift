import Inspect

/// The narrow view of a debug connection the session needs: the seam between
/// MmdbgCore and a target. `GdbTarget` is the real one (QEMU's gdbstub
/// through GdbRemote); TestSupport's `FakeTarget` is the double that tests
/// run control, breakpoints and stop classification in milliseconds.
/// Nothing here speaks the protocol.
public protocol DebugTarget: AnyObject {
    /// Register names the target describes (core and system), for `regs` and completion.
    var registerNames: [String] { get }
    /// Reads registers by name (case-insensitive), in the order given: exactly one value per name or an error.
    func readRegisters(_ names: [String]) throws(CommandError) -> [UInt64]
    /// Writes one register of the stopped target.
    func writeRegister(_ name: String, value: UInt64) throws(CommandError)
    /// Reads memory; `physical` uses the stub's physical-memory mode, scoped to this call.
    func readMemory(at address: UInt64, count: Int, physical: Bool) throws(CommandError) -> [UInt8]
    /// Writes memory of the stopped target (virtual, through the CPU's translation).
    func writeMemory(at address: UInt64, bytes: [UInt8]) throws(CommandError)
    /// How many `writeMemory` calls this target has taken: a cache of guest memory filled at an
    /// earlier count is stale, whoever wrote (a command, an injection, the DAP adapter).
    var memoryWrites: Int { get }
    /// Guest memory as Inspect reads it (batched, virtual and physical), for
    /// the walker, the kernel views and fault injection.
    var memory: WritableMemorySource { get }
    /// How `memory` reads guest RAM, with the reason for a fallback, for `status`
    /// (`direct (mmap)`, `direct (process_vm_readv)`, `gdbstub (…why…)`).
    var memoryPath: String { get }
    func insertBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError)
    func removeBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError)
    /// Every stop point inserted in the target, by whoever inserted it.
    var insertedStopPoints: [StopPoint] { get }
    /// Resumes the target (stepping over a breakpoint at PC first); returns at once.
    func resume(_ direction: RunDirection) throws(CommandError)
    /// Waits up to `timeout` seconds for the running target to stop; nil = still running.
    func waitForStop(timeout: Double) throws(CommandError) -> StopEvent?
    /// Executes one instruction and returns the stop.
    func stepInstruction(_ direction: RunDirection) throws(CommandError) -> StopEvent
    /// True when the target can run backwards (a QEMU replaying a recording).
    var canReverse: Bool { get }
    /// Stops a running target.
    func interrupt(timeout: Double) throws(CommandError) -> StopEvent
    /// Whether the target is stopped, running or gone.
    var runState: TargetRunState { get }
    /// The last stop the target reported (nil before the first).
    var lastStop: StopEvent? { get }
    /// The CPU that reported the last stop (1-based), when the target names one.
    var lastStopCPU: Int? { get }
    /// The CPUs (QEMU: one stub thread per vCPU), 1-based as the stub numbers them.
    func cpuNumbers() throws(CommandError) -> [Int]
    /// Makes `cpu` (1-based) the one later register reads and virtual memory
    /// accesses use, until the next stop (which selects the stopping CPU).
    func selectCPU(_ cpu: Int) throws(CommandError)
    /// A QEMU monitor command; returns its text output.
    func monitor(_ command: String) throws(CommandError) -> String
    /// The last protocol error with the packets exchanged before it (`show last-error`).
    var lastProtocolError: ProtocolErrorRecord? { get }
    /// Leaves the target running and closes the connection.
    func detach()
    /// Closes the connection without resuming.
    func close()
}

extension DebugTarget {
    /// Doubles that do not count writes: their memory is never cached across a write.
    public var memoryWrites: Int { -1 }
    /// A target with one CPU (doubles that do not model several).
    public func cpuNumbers() throws(CommandError) -> [Int] { [1] }
    public func selectCPU(_ cpu: Int) throws(CommandError) {
        guard cpu == 1 else { throw .unavailable("the target has one CPU (cpu 1)") }
    }
}

/// Whether a target can take commands.
public enum TargetRunState: String, Sendable {
    case stopped
    case running
    /// Exited, closed or disconnected.
    case gone
}

/// A breakpoint or watchpoint as the target holds it.
public struct StopPoint: Hashable, Sendable {
    public var kind: BreakpointKind
    public var address: UInt64
    public var length: Int

    public init(kind: BreakpointKind, address: UInt64, length: Int) {
        self.kind = kind
        self.address = address
        self.length = length
    }

    /// A code breakpoint at `pc`.
    public func covers(_ pc: UInt64) -> Bool { !kind.isWatchpoint && pc >= address && pc < address &+ UInt64(max(length, 1)) }
}

/// A protocol failure as `show last-error` prints it.
public struct ProtocolErrorRecord: Sendable {
    /// The one-line error.
    public var message: String
    /// The operation that failed (`readMemory`, `step`…).
    public var operation: String
    /// The last packets exchanged before it, oldest first (`-> m4000,8`, `<- E14`).
    public var recentPackets: [String]

    public init(message: String, operation: String, recentPackets: [String]) {
        self.message = message
        self.operation = operation
        self.recentPackets = recentPackets
    }
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
    /// A replay reached the start (`atStart`) or the end of its recording; the target is stopped there.
    case recordingBoundary(atStart: Bool)

    public var summary: String {
        switch self {
        case .signal(5): return "trap"
        case .signal(2): return "interrupted"
        case .signal(let n): return "signal \(n)"
        case .watchpoint(let kind, let address): return "\(kind.rawValue) \(Hex.format(address))"
        case .exited(let status): return "exited with status \(status)"
        case .terminated(let signal): return "terminated by signal \(signal)"
        case .recordingBoundary(let atStart): return atStart ? "start of the recording" : "end of the recording"
        }
    }

    public var targetIsGone: Bool {
        switch self {
        case .exited, .terminated: return true
        default: return false
        }
    }

    /// The watched address of a watchpoint stop.
    public var watchAddress: UInt64? {
        if case .watchpoint(_, let address) = self { return address }
        return nil
    }
}

extension DebugTarget {
    /// Targets go forward only unless they say otherwise.
    public var canReverse: Bool { false }
}
