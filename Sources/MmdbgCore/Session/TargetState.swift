/// Where the target is, as the prompt shows it.
public enum TargetState: Equatable, Sendable {
    /// No connection (never attached, or GdbRemote is not in this build).
    case detached
    /// Stopped at `pc`; `location` is `symbol+offset` when symbols are loaded.
    case stopped(pc: UInt64, location: String?, task: Int?, reason: String)
    case running
    /// The connection broke; `attach` re-attaches.
    case connectionLost(String)
    /// QEMU is gone.
    case exited(String)

    /// The prompt text, e.g. `(mmdbg stopped at map_page+0x10 task 3) `.
    public var prompt: String { "(mmdbg \(summary)) " }

    /// e.g. `stopped at map_page+0x10 task 3`, `running`, `connection lost`.
    public var summary: String {
        switch self {
        case .detached: return "detached"
        case .stopped(let pc, let location, let task, _):
            return "stopped at \(location ?? Hex.format(pc))" + (task.map { " task \($0)" } ?? "")
        case .running: return "running"
        case .connectionLost: return "connection lost"
        case .exited: return "exited"
        }
    }

    public var jsonValue: JSONValue {
        switch self {
        case .detached: return .object([("state", .string("detached"))])
        case .stopped(let pc, let location, let task, let reason):
            return .object([("state", .string("stopped")), ("pc", .hex(pc)),
                            ("location", location.map(JSONValue.string) ?? .null),
                            ("task", task.map { .int(Int64($0)) } ?? .null), ("reason", .string(reason))])
        case .running: return .object([("state", .string("running"))])
        case .connectionLost(let why): return .object([("state", .string("connection-lost")), ("reason", .string(why))])
        case .exited(let why): return .object([("state", .string("exited")), ("reason", .string(why))])
        }
    }
}
