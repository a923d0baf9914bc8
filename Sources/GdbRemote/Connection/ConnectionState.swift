/// Where the conversation with the stub stands. Transitions:
///
/// | state        | may send                         | event                           | next state   |
/// |--------------|----------------------------------|---------------------------------|--------------|
/// | stopped      | any request (pipelined)          | `c` / `s` / `vCont` sent        | running      |
/// | stopped      |                                  | `D` (detach) or `k` (kill) sent | closed       |
/// | running      | only 0x03                        | 0x03 sent                       | interrupting |
/// | running      |                                  | `T`/`S` stop reply              | stopped      |
/// | interrupting | nothing                          | `T`/`S` stop reply              | stopped      |
/// | running / interrupting | nothing                | `W`/`X` reply                   | exited       |
/// | any          |                                  | `W`/`X` reply                   | exited       |
/// | any          |                                  | socket closed, desynchronised   | closed       |
/// | exited       | nothing (close only)             | `close()`                       | closed       |
///
/// Never pipeline past a resume: while the target runs only 0x03 goes out,
/// because QEMU stops the VM on the first byte of any packet.
public enum ConnectionState: Sendable, Equatable, CustomStringConvertible {
    case stopped
    case running
    case interrupting
    /// The process exited (`W`) or was terminated (`X`).
    case exited
    /// The connection is gone (closed by us, by the stub, or after a desynchronising failure).
    case closed

    public var description: String {
        switch self {
        case .stopped: return "stopped"
        case .running: return "running"
        case .interrupting: return "interrupting"
        case .exited: return "exited"
        case .closed: return "closed"
        }
    }
}
