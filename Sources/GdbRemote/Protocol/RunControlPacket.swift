/// The action of a `vCont` packet for one thread.
public enum VContAction: String, Sendable {
    /// `c`: continue.
    case `continue` = "c"
    /// `s`: step one instruction.
    case step = "s"
}

/// Resuming, stopping and leaving the target.
public enum RunControlPacket: Sendable, Equatable {
    /// `c`: resume all threads; the reply is the next stop.
    case `continue`
    /// `s`: step one instruction; the reply is the stop after it.
    case step
    /// `vCont;<action>:<thread>`: resume one thread (the others stay stopped).
    case vCont(VContAction, thread: ThreadID, multiprocess: Bool)
    /// `bs`: step one instruction backwards (a stub replaying a recording, `ReverseStep+`).
    case reverseStep
    /// `bc`: run backwards to the previous breakpoint or watchpoint, or the start of the recording (`ReverseContinue+`).
    case reverseContinue
    /// `vCont?`: which `vCont` actions the stub accepts.
    case vContQuery
    /// `?`: why the target is stopped.
    case stopReason
    /// `D`, or `D;<pid>` with multiprocess ids: detach (QEMU resumes the VM).
    case detach(process: Int?)
    /// `k`: kill. Sent without waiting: stubs answer `X09` or just hang up.
    case kill

    func encode(into out: inout [UInt8]) {
        switch self {
        case .continue: out.append(UInt8(ascii: "c"))
        case .step: out.append(UInt8(ascii: "s"))
        case .reverseStep: Packet.append("bs", to: &out)
        case .reverseContinue: Packet.append("bc", to: &out)
        case .vCont(let action, let thread, let multiprocess):
            Packet.append("vCont;", to: &out)
            Packet.append(action.rawValue, to: &out)
            out.append(UInt8(ascii: ":"))
            Packet.append(thread.encoded(multiprocess: multiprocess), to: &out)
        case .vContQuery: Packet.append("vCont?", to: &out)
        case .stopReason: out.append(UInt8(ascii: "?"))
        case .detach(let process):
            out.append(UInt8(ascii: "D"))
            if let process {
                out.append(UInt8(ascii: ";"))
                Packet.appendNumber(process, to: &out)
            }
        case .kill: out.append(UInt8(ascii: "k"))
        }
    }

    var expectation: ReplyExpectation {
        switch self {
        case .continue, .step, .reverseStep, .reverseContinue, .vCont, .stopReason, .kill: return .stopReply
        case .vContQuery, .detach: return .reply
        }
    }

    /// Resuming twice runs the target further; detaching and killing end the session.
    var isIdempotent: Bool {
        switch self {
        case .vContQuery, .stopReason: return true
        case .continue, .step, .reverseStep, .reverseContinue, .vCont, .detach, .kill: return false
        }
    }
}
