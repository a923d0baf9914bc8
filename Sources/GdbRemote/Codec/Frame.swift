/// One unit of the remote protocol's byte stream, as the decoder hands it back.
public enum Frame: Equatable, Sendable {
    /// `+`: the peer received the last packet.
    case ack
    /// `-`: the peer wants the last packet again.
    case nack
    /// 0x03: interrupt request (only a stub receives these).
    case interrupt
    /// `$body#cs`. `body` has run-length encoding expanded and `}` escapes removed.
    case packet(body: [UInt8], checksumValid: Bool)
    /// `%body#cs`: an asynchronous notification (non-stop mode).
    case notification(body: [UInt8], checksumValid: Bool)
    /// A packet whose body exceeded the decoder's limit; its bytes were discarded.
    case oversized(limit: Int)

    /// The body as text, for logs and tests.
    public var text: String {
        switch self {
        case .ack: return "+"
        case .nack: return "-"
        case .interrupt: return "^C"
        case .packet(let body, _): return String(decoding: body, as: UTF8.self)
        case .notification(let body, _): return "%" + String(decoding: body, as: UTF8.self)
        case .oversized(let limit): return "<packet over \(limit) bytes>"
        }
    }
}
