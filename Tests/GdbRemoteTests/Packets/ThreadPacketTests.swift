import Testing
@testable import GdbRemote

@Suite("Packets: threads (qfThreadInfo, qsThreadInfo, qC, H)")
struct ThreadPacketTests {
    @Test func encodings() {
        #expect(wire(.thread(.firstThreadInfo)) == "qfThreadInfo")
        #expect(wire(.thread(.nextThreadInfo)) == "qsThreadInfo")
        #expect(wire(.thread(.current)) == "qC")
        #expect(wire(.thread(.select(.general, ThreadID(process: 1, thread: 2), multiprocess: true))) == "Hgp1.2")
        #expect(wire(.thread(.select(.execution, ThreadID(thread: 3), multiprocess: false))) == "Hc3")
        #expect(wire(.thread(.select(.general, .any, multiprocess: false))) == "Hg0")
    }

    @Test func expectationsAndIdempotence() {
        #expect(Packet.thread(.firstThreadInfo).expectation == .reply)
        #expect(Packet.thread(.firstThreadInfo).isIdempotent)
        #expect(!Packet.thread(.nextThreadInfo).isIdempotent, "it moves the stub's cursor")
        #expect(Packet.thread(.current).isIdempotent)
        #expect(Packet.thread(.select(.general, .any, multiprocess: false)).isIdempotent)
    }
}
