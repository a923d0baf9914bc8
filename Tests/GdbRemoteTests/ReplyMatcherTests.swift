import Testing
@testable import GdbRemote

/// The reply matcher on its own: frames in, actions and queued bytes out. No
/// transport, no threads, no clock.
@Suite("Reply matcher fed frames")
struct ReplyMatcherTests {
    private static let m0 = Packet.memory(.read(address: 0, count: 4))
    private static let m4 = Packet.memory(.read(address: 4, count: 4))
    private static let m8 = Packet.memory(.read(address: 8, count: 4))

    private func reply(_ text: String, valid: Bool = true) -> Frame { .packet(body: Array(text.utf8), checksumValid: valid) }
    private func deliver(_ index: Int, _ text: String) -> ReplyMatcher.Action { .deliver(index: index, body: Array(text.utf8)) }

    /// The queued bytes as text, then marks them written.
    private func written(_ matcher: inout ReplyMatcher) -> String {
        defer { matcher.didWrite() }
        return String(decoding: matcher.outgoing, as: UTF8.self)
    }

    @Test func repliesAreMatchedInOrderAndAcknowledged() {
        var matcher = ReplyMatcher()
        matcher.send(Self.m0, index: 0)
        matcher.send(Self.m4, index: 1)
        #expect(matcher.outgoingHasRequests)
        #expect(written(&matcher) == "$m0,4#fd$m4,4#01")
        #expect(matcher.receive(.ack) == nil)
        #expect(matcher.receive(.ack) == nil)
        #expect(matcher.receive(reply("00010203")) == deliver(0, "00010203"))
        #expect(matcher.receive(reply("04050607")) == deliver(1, "04050607"))
        #expect(written(&matcher) == "++")
        #expect(!matcher.outgoingHasRequests, "acks alone: no reply depends on them")
        #expect(matcher.inFlight.isEmpty)
        #expect(matcher.ring.snapshot == ["-> m0,4", "-> m4,4", "<- 00010203", "<- 04050607"])
    }

    @Test func noAckModeSendsNoAcks() {
        var matcher = ReplyMatcher()
        matcher.ackMode = false
        matcher.send(Self.m0, index: 0)
        _ = written(&matcher)
        #expect(matcher.receive(reply("00010203")) == deliver(0, "00010203"))
        #expect(matcher.outgoing.isEmpty)
    }

    @Test func nackResendsTheOldestUnacknowledgedAndMovesItToTheBack() {
        var matcher = ReplyMatcher()
        for (i, packet) in [Self.m0, Self.m4, Self.m8].enumerated() { matcher.send(packet, index: i) }
        _ = written(&matcher)
        #expect(matcher.receive(.ack) == nil)   // m0 taken
        #expect(matcher.receive(.nack) == nil)  // m4 refused
        #expect(written(&matcher) == "$m4,4#01")
        #expect(matcher.inFlight.map(\.index) == [0, 2, 1])
        #expect(matcher.receive(reply("00010203")) == deliver(0, "00010203"))
        #expect(matcher.receive(reply("08090a0b")) == deliver(2, "08090a0b"))
        #expect(matcher.receive(reply("04050607")) == deliver(1, "04050607"))
    }

    @Test func nackStormHitsTheRetryLimitThenFramesAreIgnored() {
        var matcher = ReplyMatcher()
        matcher.send(Self.m0, index: 0)
        for _ in 0..<4 { #expect(matcher.receive(.nack) == nil) }
        #expect(written(&matcher) == "$m0,4#fd" + String(repeating: "$m0,4#fd", count: 4))
        #expect(matcher.receive(.nack) == .fail(.retryLimitExceeded(attempts: 5)))
        #expect(matcher.receive(reply("00010203")) == nil, "after a failure nothing is matched")
        matcher.abandon()
        #expect(matcher.state == .closed && matcher.inFlight.isEmpty)
    }

    @Test func nackInNoAckModeIsIgnored() {
        var matcher = ReplyMatcher()
        matcher.ackMode = false
        matcher.send(Self.m0, index: 0)
        _ = written(&matcher)
        #expect(matcher.receive(.nack) == nil)
        #expect(matcher.outgoing.isEmpty)
    }

    @Test func corruptedReplyToTheOnlyRequestIsAskedForAgain() {
        var matcher = ReplyMatcher()
        matcher.send(Self.m0, index: 0)
        _ = written(&matcher)
        #expect(matcher.receive(.ack) == nil)
        #expect(matcher.receive(reply("0001zz03", valid: false)) == nil)
        #expect(matcher.outgoingHasRequests, "the reply depends on the nack going out")
        #expect(written(&matcher) == "-")
        #expect(matcher.receive(reply("00010203")) == deliver(0, "00010203"))
        #expect(matcher.ring.snapshot.contains("<- (bad checksum) 0001zz03"))
    }

    @Test func corruptedReplyWhilePipelinedReissuesTheIdempotentRequest() {
        // QEMU keeps only its latest reply, so a nack would get the wrong one: ack it, send m0 again.
        var matcher = ReplyMatcher()
        for (i, packet) in [Self.m0, Self.m4].enumerated() { matcher.send(packet, index: i) }
        _ = written(&matcher)
        _ = matcher.receive(.ack); _ = matcher.receive(.ack)
        #expect(matcher.receive(reply("00010203", valid: false)) == nil)
        #expect(written(&matcher) == "+$m0,4#fd")
        #expect(matcher.inFlight.map(\.index) == [1, 0])
        #expect(matcher.inFlight.last?.acked == false, "the re-sent packet waits for its own ack")
        #expect(matcher.receive(reply("04050607")) == deliver(1, "04050607"))
        #expect(matcher.receive(.ack) == nil)
        #expect(matcher.receive(reply("00010203")) == deliver(0, "00010203"))
    }

    @Test func corruptedReplyWhilePipelinedInNoAckModeReissuesWithoutAcks() {
        var matcher = ReplyMatcher()
        matcher.ackMode = false
        for (i, packet) in [Self.m0, Self.m4].enumerated() { matcher.send(packet, index: i) }
        _ = written(&matcher)
        #expect(matcher.receive(reply("00010203", valid: false)) == nil)
        #expect(written(&matcher) == "$m0,4#fd")
        let allAcked = matcher.inFlight.allSatisfy { $0.acked }
        #expect(allAcked)
    }

    @Test func corruptedReplyToARequestThatCannotBeRepeatedFails() {
        var matcher = ReplyMatcher()
        matcher.send(.breakpoint(.insert(.software, address: 0x1000, length: 4)), index: 0)
        matcher.send(Self.m0, index: 1)
        _ = written(&matcher)
        #expect(matcher.receive(reply("OK", valid: false)) == .fail(.malformedReply("corrupted reply to a request that cannot be repeated")))
    }

    @Test func corruptedRepliesPastTheRetryLimitFail() {
        var matcher = ReplyMatcher()
        matcher.send(Self.m0, index: 0)
        for _ in 0..<4 { #expect(matcher.receive(reply("zz", valid: false)) == nil) }
        #expect(matcher.receive(reply("zz", valid: false)) == .fail(.retryLimitExceeded(attempts: 5)))
    }

    @Test func corruptedPacketWithNothingInFlightIsNacked() {
        var matcher = ReplyMatcher()
        #expect(matcher.receive(reply("T05", valid: false)) == nil)
        #expect(written(&matcher) == "-")
    }

    @Test func stopReplyWhileARequestWaitsIsAsynchronous() {
        var matcher = ReplyMatcher()
        matcher.send(Self.m0, index: 0)
        _ = written(&matcher)
        #expect(matcher.receive(reply("T05thread:p01.01;")) == .asynchronousStop(Array("T05thread:p01.01;".utf8)))
        #expect(matcher.receive(reply("00010203")) == deliver(0, "00010203"))
        #expect(matcher.state == .stopped)
    }

    @Test func resumeRunsUntilItsStopReply() {
        var matcher = ReplyMatcher()
        matcher.sendResume(frame: Packet.runControl(.continue).framed())
        #expect(matcher.state == .running)
        #expect(written(&matcher) == "$c#63")
        #expect(matcher.receive(reply("O68690a")) == .console(Array("hi\n".utf8), request: nil), "console output while running")
        matcher.sendInterrupt()
        #expect(matcher.state == .interrupting)
        #expect(written(&matcher) == "+\u{03}", "the pending ack goes out before 0x03")
        #expect(matcher.receive(reply("T02thread:p01.01;")) == deliver(0, "T02thread:p01.01;"))
        #expect(matcher.state == .stopped)
    }

    @Test func exitEndsTheRunAndOrphansOrdinaryRequests() {
        var matcher = ReplyMatcher()
        matcher.sendResume(frame: Packet.runControl(.continue).framed())
        #expect(matcher.receive(reply("W00")) == deliver(0, "W00"))
        #expect(matcher.state == .exited)

        var other = ReplyMatcher()
        other.send(Self.m0, index: 0)
        #expect(!other.repliesCannotCome)
        #expect(other.receive(reply("X09")) == .asynchronousStop(Array("X09".utf8)))
        #expect(other.state == .exited)
        #expect(other.repliesCannotCome, "nothing will answer m0 now")
    }

    @Test func consoleOutputBelongsToTheMonitorCommandThatCausedIt() {
        var matcher = ReplyMatcher()
        matcher.send(.query(.monitor(command: "info version")), index: 3)
        #expect(matcher.receive(reply("O372e320a")) == .console(Array("7.2\n".utf8), request: 3))
        #expect(matcher.receive(reply("OK")) == deliver(3, "OK"))
    }

    @Test func anyReplyTakesWhatComesEvenIfItLooksLikeConsoleOrAStop() {
        var matcher = ReplyMatcher()
        matcher.send(.qemu(.singleStepFlags), index: 0)
        matcher.send(.qemu(.physicalMemoryMode), index: 1)
        #expect(matcher.receive(reply("O07")) == deliver(0, "O07"))
        #expect(matcher.receive(reply("S05")) == deliver(1, "S05"))
    }

    @Test func oversizedReplyAnswersItsRequestEmpty() {
        var matcher = ReplyMatcher()
        matcher.send(Self.m0, index: 0)
        _ = written(&matcher)
        #expect(matcher.receive(.oversized(limit: 16)) == .deliverOversized(index: 0))
        #expect(written(&matcher) == "+")
        #expect(matcher.inFlight.isEmpty)
    }

    @Test func unaskedPacketsAreLoggedNotMatched() {
        var matcher = ReplyMatcher()
        #expect(matcher.receive(reply("OK")) == nil)
        #expect(matcher.receive(.interrupt) == nil)
        #expect(matcher.receive(.notification(body: Array("Stop:T05".utf8), checksumValid: true)) == nil)
        #expect(matcher.ring.snapshot == ["<- OK", "   (unexpected packet ignored)", "<- ^C (ignored)", "<- %Stop:T05"])
    }
}

extension ReplyMatcher {
    /// Queues `packet` as request `index`, framed as the connection would.
    mutating func send(_ packet: Packet, index: Int) {
        send(frame: packet.framed(), index: index, expecting: packet.expectation, idempotent: packet.isIdempotent)
    }
}
