import Testing
@testable import GdbRemote

@Suite("Packets: run control (c, s, vCont, ?, D, k)")
struct RunControlPacketTests {
    @Test func encodings() {
        #expect(wire(.runControl(.continue)) == "c")
        #expect(wire(.runControl(.step)) == "s")
        #expect(wire(.runControl(.vCont(.continue, thread: ThreadID(process: 1, thread: 2), multiprocess: true))) == "vCont;c:p1.2")
        #expect(wire(.runControl(.vCont(.step, thread: ThreadID(thread: 0x1a), multiprocess: false))) == "vCont;s:1a")
        #expect(wire(.runControl(.vCont(.continue, thread: .all, multiprocess: true))) == "vCont;c:p1.-1")
        #expect(wire(.runControl(.vContQuery)) == "vCont?")
        #expect(wire(.runControl(.stopReason)) == "?")
        #expect(wire(.runControl(.detach(process: nil))) == "D")
        #expect(wire(.runControl(.detach(process: 0x2a))) == "D;2a")
        #expect(wire(.runControl(.kill)) == "k")
        #expect(framed(.runControl(.continue)) == "$c#63")
        #expect(wire(.runControl(.reverseStep)) == "bs")
        #expect(wire(.runControl(.reverseContinue)) == "bc")
        #expect(framed(.runControl(.reverseContinue)) == "$bc#c5")
    }

    @Test func reverseResumesExpectAStopAndAreNeverRepeated() {
        for packet: Packet in [.runControl(.reverseStep), .runControl(.reverseContinue)] {
            #expect(packet.expectation == .stopReply)
            #expect(!packet.isIdempotent)
        }
    }

    @Test func replayBoundaryStops() throws {
        // gdb's own field, for stubs that send it.
        let begin = try #require(StopReason(packet: Array("T05replaylog:begin;".utf8)))
        #expect(begin.replayBoundary == .begin)
        #expect(try #require(StopReason(packet: Array("T05thread:p01.01;replaylog:end;".utf8))).replayBoundary == .end)
        #expect(try #require(StopReason(packet: Array("T05thread:p01.01;".utf8))).replayBoundary == nil)
        // QEMU 7.2: E14 when there is nothing before the position, a SIGINT of its own at the start.
        #expect(GdbClient.replayBoundary(answering: Array("E14".utf8), lastThread: nil)?.replayBoundary == .begin)
        #expect(GdbClient.replayBoundary(answering: Array("T02thread:p01.01;".utf8), lastThread: nil)?.replayBoundary == .begin)
        #expect(GdbClient.replayBoundary(answering: Array("T05thread:p01.01;".utf8), lastThread: nil) == nil)
        #expect(GdbClient.replayBoundary(answering: Array("T05watch:ffff000040001000;".utf8), lastThread: nil) == nil)
    }

    @Test func resumesExpectAStopAndAreNeverRepeated() {
        for packet: Packet in [.runControl(.continue), .runControl(.step),
                               .runControl(.vCont(.continue, thread: .any, multiprocess: false))] {
            #expect(packet.expectation == .stopReply)
            #expect(!packet.isIdempotent)
        }
        #expect(Packet.runControl(.stopReason).expectation == .stopReply)
        #expect(Packet.runControl(.stopReason).isIdempotent)
        #expect(Packet.runControl(.vContQuery).expectation == .reply)
        #expect(Packet.runControl(.vContQuery).isIdempotent)
        #expect(Packet.runControl(.detach(process: 1)).expectation == .reply)
        #expect(!Packet.runControl(.detach(process: 1)).isIdempotent)
        #expect(!Packet.runControl(.kill).isIdempotent)
    }
}
