import Testing
@testable import GdbRemote

@Suite("Packets: general queries (qSupported, QStartNoAckMode, qXfer, qRcmd)")
struct QueryPacketTests {
    @Test func encodings() {
        #expect(wire(.query(.supported(features: GdbClient.clientFeatures)))
                == "qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+;xmlRegisters=aarch64")
        #expect(wire(.query(.supported(features: []))) == "qSupported")
        #expect(wire(.query(.startNoAckMode)) == "QStartNoAckMode")
        #expect(wire(.query(.readObject(object: "features", annex: "target.xml", offset: 0, length: 0xFF0)))
                == "qXfer:features:read:target.xml:0,ff0")
        #expect(wire(.query(.readObject(object: "features", annex: "aarch64-core.xml", offset: 0x1000, length: 0x40)))
                == "qXfer:features:read:aarch64-core.xml:1000,40")
        #expect(wire(.query(.monitor(command: "info version"))) == "qRcmd,696e666f2076657273696f6e")
    }

    @Test func aStubSuppliedAnnexIsEscaped() {
        // An include href comes from the stub; `#` in it must not end the packet.
        #expect(Packet.query(.readObject(object: "features", annex: "a#b", offset: 0, length: 1)).encode()
                == Array("qXfer:features:read:a".utf8) + [0x7D, 0x03] + Array("b:0,1".utf8))
    }

    @Test func expectationsAndIdempotence() {
        #expect(Packet.query(.monitor(command: "stop")).expectation == .consoleThenReply)
        #expect(!Packet.query(.monitor(command: "stop")).isIdempotent, "a monitor command may change the machine")
        for packet: Packet in [.query(.supported(features: [])), .query(.startNoAckMode),
                               .query(.readObject(object: "features", annex: "target.xml", offset: 0, length: 1))] {
            #expect(packet.expectation == .reply)
            #expect(packet.isIdempotent)
        }
    }
}
