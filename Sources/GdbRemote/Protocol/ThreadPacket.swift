/// Which operations an `H` packet selects a thread for.
public enum ThreadSelection: String, Sendable {
    /// `Hg`: register and memory access.
    case general = "g"
    /// `Hc`: continue and step.
    case execution = "c"
}

/// Thread lists and selection.
public enum ThreadPacket: Sendable, Equatable {
    /// `qfThreadInfo`: the first part of the thread list (restarts the listing).
    case firstThreadInfo
    /// `qsThreadInfo`: the next part of the thread list.
    case nextThreadInfo
    /// `qC`: the current thread.
    case current
    /// `H<g|c><thread>`; `multiprocess` selects the `p<pid>.<tid>` form.
    case select(ThreadSelection, ThreadID, multiprocess: Bool)

    func encode(into out: inout [UInt8]) {
        switch self {
        case .firstThreadInfo: Packet.append("qfThreadInfo", to: &out)
        case .nextThreadInfo: Packet.append("qsThreadInfo", to: &out)
        case .current: Packet.append("qC", to: &out)
        case .select(let selection, let thread, let multiprocess):
            out.append(UInt8(ascii: "H"))
            Packet.append(selection.rawValue, to: &out)
            Packet.append(thread.encoded(multiprocess: multiprocess), to: &out)
        }
    }

    /// `qsThreadInfo` moves the stub's cursor: sent twice, it skips a part of the list.
    var isIdempotent: Bool { self != .nextThreadInfo }
}
