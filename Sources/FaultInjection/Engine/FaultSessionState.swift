import Inspect
import MmdbgCore

/// What fault injection keeps per session (in `Session.extensions`): the
/// engine, the free-page baseline, and (for replay) pinned hit numbers.
public final class FaultSessionState {
    static let key = "FaultInjection"

    public let engine = FaultEngine()
    /// Free pages recorded by `baseline`.
    public var baselineFreePages: UInt64?
    /// Replay: fault id → the eligible hits that fired in the recorded run.
    public var pinnedHits: [Int: [Int]]?
    /// The `inject` lines armed so far, in order (a trace records them).
    public var armedSources: [String] = []
    /// `expect last-write` lines met while recording: where (QEMU's instruction count) and what,
    /// checked by the runner on a replay of the recording.
    public var deferredLastWrites: [(icount: UInt64, line: String, expectation: LastWriteExpectation)] = []

    init() {}

    /// The state of `session`, created on first use.
    public static func of(_ session: Session) -> FaultSessionState {
        if let state = session.extensions[key] as? FaultSessionState { return state }
        let state = FaultSessionState()
        session.extensions[key] = state
        return state
    }

    /// Kernel access over the session's stopped target and ELF.
    static func kernel(_ session: Session, for command: String) throws(CommandError) -> KernelAccess {
        let target = try session.requireStoppedTarget(for: command)
        guard let elf = (session.symbols as? ELFSymbolTable)?.elf else {
            throw .unavailable("\(command): needs the kernel ELF (start with --elf FILE)")
        }
        do { return try KernelAccess(target: target, elf: elf) } catch { throw error.commandError }
    }
}

extension FaultInjectionError {
    /// The same one line, as the command language reports it.
    var commandError: CommandError {
        switch self {
        case .target(let why): return .target(why)
        case .command(let error): return error
        default: return .failed(description)
        }
    }
}
