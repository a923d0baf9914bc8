import Testing
@testable import GdbRemote

@Suite("Packets: registers (p, P, g, G)")
struct RegisterPacketTests {
    @Test func encodings() {
        #expect(wire(.register(.read(number: 0x20))) == "p20")
        #expect(wire(.register(.read(number: 0))) == "p0")
        #expect(wire(.register(.write(number: 0, value: [7, 0, 0, 0, 0, 0, 0, 0]))) == "P0=0700000000000000")
        #expect(wire(.register(.readGeneral)) == "g")
        #expect(wire(.register(.writeGeneral(values: [0x01, 0xAB]))) == "G01ab")
        #expect(framed(.register(.readGeneral)) == "$g#67")
    }

    @Test func expectationsAndIdempotence() {
        for packet: Packet in [.register(.read(number: 1)), .register(.write(number: 1, value: [0])),
                               .register(.readGeneral), .register(.writeGeneral(values: [0]))] {
            #expect(packet.expectation == .reply)
            #expect(packet.isIdempotent)
        }
    }
}
