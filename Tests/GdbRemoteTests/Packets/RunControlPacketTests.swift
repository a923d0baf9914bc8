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
