/// Matches the stub's frames to the requests in flight. A pure state machine:
/// the pump feeds it decoded frames and it answers with what happened (`Action`);
/// the bytes it wants sent (acks, nacks, re-sent requests) collect in `outgoing`,
/// which the pump writes when it suits it (acks ride along with the next requests).
/// No I/O, no clock: tests feed it frames directly.
///
/// Requests are answered in order. In ack mode a `-` from the stub re-sends the
/// oldest unacknowledged packet (which the stub will then answer after the ones it
/// already took, so it moves to the back of the queue). A corrupted reply is answered
/// with `-` when it is the only one outstanding (the stub resends it), otherwise the
/// idempotent request is re-issued, because QEMU only keeps its latest reply.
///
/// Besides replies it recognises what nobody asked for: `O` console output and stop
/// replies arriving while an ordinary request waits (asynchronous stops), and keeps
/// the run state that stop replies change (see `ConnectionState`).
struct ReplyMatcher {
    /// What one frame meant.
    enum Action: Equatable {
        /// `body` answers request `index`.
        case deliver(index: Int, body: [UInt8])
        /// Request `index` was answered with a packet over the decoder's limit (dropped).
        case deliverOversized(index: Int)
        /// Console output (decoded `O` packet); `request` is set when it belongs to
        /// the request in flight (`.consoleThenReply`).
        case console([UInt8], request: Int?)
        /// A stop reply that answers no request.
        case asynchronousStop([UInt8])
        /// Replies can no longer be matched; frames are ignored until `abandon`.
        case fail(GdbError.Kind)
    }

    /// A request sent and not yet answered.
    struct InFlight: Equatable {
        var frame: [UInt8]
        var index: Int
        var expectation: ReplyExpectation
        var isIdempotent: Bool
        var acked: Bool
        var sendAttempts = 1
        var replyAttempts = 0
    }

    /// Whether `+`/`-` are exchanged (until `QStartNoAckMode` succeeds).
    var ackMode = true
    /// How often a packet is re-sent (or a reply re-requested) before giving up.
    var retryLimit = 4
    /// The run state.
    private(set) var state: ConnectionState = .stopped
    /// Requests awaiting their reply, oldest first.
    private(set) var inFlight: [InFlight] = []
    /// Bytes to write: requests, acks, nacks, re-sent requests, 0x03.
    private(set) var outgoing: [UInt8] = []
    /// `outgoing` holds more than acks: a reply depends on it being sent.
    private(set) var outgoingHasRequests = false
    /// The last packets exchanged (the pump adds its own notes).
    var ring = PacketRing()
    /// Set once a `.fail` was returned: later frames are ignored until `abandon`.
    private var failed = false

    /// Queues `frame` (a framed request) as request `index`.
    mutating func send(frame: [UInt8], index: Int, expecting expectation: ReplyExpectation, idempotent: Bool) {
        ring.record(sentFrame: frame)
        outgoing += frame
        outgoingHasRequests = true
        inFlight.append(InFlight(frame: frame, index: index, expectation: expectation, isIdempotent: idempotent, acked: !ackMode))
    }

    /// Queues a resume (`c`, `s`, `vCont`): its reply is the next stop, and the target runs.
    mutating func sendResume(frame: [UInt8]) {
        send(frame: frame, index: 0, expecting: .stopReply, idempotent: false)
        state = .running
    }

    /// Queues a packet nobody waits for (`k`).
    mutating func sendUnanswered(frame: [UInt8]) {
        ring.record(sentFrame: frame)
        outgoing += frame
    }

    /// Queues 0x03; the state becomes `interrupting`.
    mutating func sendInterrupt() {
        outgoing.append(0x03)
        ring.note("-> ^C")
        state = .interrupting
    }

    /// The pump wrote `outgoing`.
    mutating func didWrite() {
        outgoing.removeAll(keepingCapacity: true)
        outgoingHasRequests = false
    }

    /// The connection is closed (by us, the stub, or a failure): nothing stays in flight.
    mutating func abandon() {
        inFlight.removeAll()
        failed = false
        state = .closed
    }

    /// True when the target exited and what is still in flight expects an ordinary reply:
    /// nothing will ever answer it.
    var repliesCannotCome: Bool {
        state == .exited && !inFlight.isEmpty && inFlight.allSatisfy { $0.expectation != .stopReply }
    }

    /// Handles one frame.
    mutating func receive(_ frame: Frame) -> Action? {
        guard !failed else { return nil }
        switch frame {
        case .ack:
            if let i = inFlight.firstIndex(where: { !$0.acked }) { inFlight[i].acked = true }
            return nil
        case .nack:
            ring.note("<- -")
            guard ackMode, let i = inFlight.firstIndex(where: { !$0.acked }) else { return nil }
            var entry = inFlight.remove(at: i)
            entry.sendAttempts += 1
            if entry.sendAttempts > retryLimit + 1 {
                return fail(.retryLimitExceeded(attempts: entry.sendAttempts - 1))
            }
            resend(entry)
            return nil
        case .interrupt:
            ring.note("<- ^C (ignored)")
            return nil
        case .notification(let body, _):
            ring.record(received: [UInt8(ascii: "%")] + body)
            return nil
        case .oversized:
            ring.note("<- (oversized reply dropped)")
            if ackMode { outgoing.append(UInt8(ascii: "+")) }
            guard !inFlight.isEmpty else { return nil }
            return .deliverOversized(index: inFlight.removeFirst().index)
        case .packet(let body, let valid):
            return valid ? receiveValid(body) : receiveCorrupted(body)
        }
    }

    private mutating func fail(_ kind: GdbError.Kind) -> Action {
        failed = true
        return .fail(kind)
    }

    private mutating func resend(_ entry: InFlight) {
        ring.record(sentFrame: entry.frame)
        outgoing += entry.frame
        outgoingHasRequests = true
        inFlight.append(entry)
    }

    private mutating func receiveCorrupted(_ body: [UInt8]) -> Action? {
        ring.note("<- (bad checksum) " + String(decoding: body.prefix(40), as: UTF8.self))
        guard !inFlight.isEmpty else {
            if ackMode { outgoing.append(UInt8(ascii: "-")) }
            return nil
        }
        inFlight[0].replyAttempts += 1
        if inFlight[0].replyAttempts > retryLimit {
            return fail(.retryLimitExceeded(attempts: inFlight[0].replyAttempts))
        }
        if ackMode && inFlight.count == 1 {
            outgoing.append(UInt8(ascii: "-"))  // the stub still holds this reply: ask again
            outgoingHasRequests = true
        } else if inFlight[0].isIdempotent {
            if ackMode { outgoing.append(UInt8(ascii: "+")) }
            var entry = inFlight.removeFirst()
            entry.acked = !ackMode
            resend(entry)
        } else {
            return fail(.malformedReply("corrupted reply to a request that cannot be repeated"))
        }
        return nil
    }

    private mutating func receiveValid(_ body: [UInt8]) -> Action? {
        if ackMode { outgoing.append(UInt8(ascii: "+")) }
        ring.record(received: body)
        let head = inFlight.first
        if StopReplyShape.isConsoleOutput(body), head?.expectation != .anyReply {
            let text = Hex.decode(body.dropFirst()) ?? []
            return .console(text, request: head?.expectation == .consoleThenReply ? head?.index : nil)
        }
        guard let head else {
            if StopReplyShape.matches(body) { return asynchronousStop(body) }
            ring.note("   (unexpected packet ignored)")
            return nil
        }
        if head.expectation == .reply || head.expectation == .consoleThenReply, StopReplyShape.matches(body) {
            return asynchronousStop(body)
        }
        inFlight.removeFirst()
        if head.expectation == .stopReply {
            state = StopReplyShape.isExit(body) ? .exited : .stopped
        }
        return .deliver(index: head.index, body: body)
    }

    private mutating func asynchronousStop(_ body: [UInt8]) -> Action {
        if StopReplyShape.isExit(body) {
            state = .exited
        } else if state == .running || state == .interrupting {
            state = .stopped
        }
        return .asynchronousStop(body)
    }
}
