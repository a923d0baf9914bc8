import GdbRemote
import MmdbgCore
/// One armed fault: where it fires, which hits, and what it does. `source`
/// is the `inject` line that created it (traces and replay keep it).
public struct FaultSpec: Equatable, Sendable, Codable {
    public var trigger: FaultTrigger
    public var selection: FaultSelection
    public var action: FaultAction
    public var source: String

    public init(trigger: FaultTrigger, selection: FaultSelection, action: FaultAction, source: String) {
        self.trigger = trigger
        self.selection = selection
        self.action = action
        self.source = source
    }

    public var description: String { "\(trigger.description) [\(selection.description)] → \(action.description)" }
}

/// One firing, as the trace records it: enough to see what happened and to
/// pin a replay to the same hits.
public struct FaultHit: Equatable, Sendable, Codable {
    /// Position in the run's trace (1-based).
    public var sequence: Int
    /// The fault's id in its engine (1-based, arming order).
    public var fault: Int
    /// The eligible hit number that fired (what `FaultSelection.exactHits` replays).
    public var hit: Int
    /// The current task's pid at the stop (nil before the first task).
    public var pid: Int64?
    public var pc: UInt64
    public var location: String?
    public var action: String
    /// What the action changed (`x0=0x0`, `pte 0x…→0x…`).
    public var detail: String
    /// QEMU's instruction count at the firing, when the run was recorded (`run --record`).
    public var icount: UInt64?
    /// The exact register and memory writes of the firing, when the run was recorded:
    /// what `replay --debug` re-applies at `icount` (they are not in QEMU's event log).
    public var writes: [InjectedWrite]?

    /// `#3 fault 1 hit 2 pid 4 pc 0x… (get_free_page) return 0x0: x0=0x0 pc=0x…`.
    public var description: String {
        "#\(sequence) fault \(fault) hit \(hit) pid \(pid.map(String.init) ?? "-") pc \(Hex.format(pc))"
            + (location.map { " (\($0))" } ?? "") + " \(action): \(detail)"
    }
}
