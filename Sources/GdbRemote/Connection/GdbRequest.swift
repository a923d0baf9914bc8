/// What a request expects back.
public enum ReplyExpectation: Sendable {
    /// An ordinary reply; a stop-shaped packet meanwhile is an asynchronous stop.
    case reply
    /// A stop reply (`?`, and `c`/`s`/`vCont`, whose reply arrives when the target stops).
    case stopReply
    /// `O` console packets belong to this request's output, then a final reply (`qRcmd`).
    case consoleThenReply
    /// Whatever comes next is the reply (raw packets typed by a user).
    case anyReply
}

/// One request to the stub: its body and what it expects back.
public struct GdbRequest: Sendable {
    public var body: [UInt8]
    public var expectation: ReplyExpectation
    /// Whether re-sending it is harmless (reads, and writes of the same bytes). Only
    /// these are re-issued when a pipelined reply arrives corrupted.
    public var isIdempotent: Bool

    /// A request with a raw body.
    public init(_ body: [UInt8], expecting expectation: ReplyExpectation = .reply, idempotent: Bool = true) {
        self.body = body
        self.expectation = expectation
        self.isIdempotent = idempotent
    }

    /// A request with a text body.
    public init(_ text: String, expecting expectation: ReplyExpectation = .reply, idempotent: Bool = true) {
        self.init(Array(text.utf8), expecting: expectation, idempotent: idempotent)
    }

    var text: String { String(decoding: body.prefix(80), as: UTF8.self) }
}
