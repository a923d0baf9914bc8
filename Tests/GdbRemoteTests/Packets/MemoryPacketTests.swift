import Testing
@testable import GdbRemote

@Suite("Packets: memory (m, M, X)")
struct MemoryPacketTests {
    @Test func readIsLowerCaseHexWithoutLeadingZeros() {
        #expect(wire(.memory(.read(address: 0x1000, count: 4))) == "m1000,4")
        #expect(wire(.memory(.read(address: 0, count: 0x800))) == "m0,800")
        #expect(wire(.memory(.read(address: 0xFFFF_0000_4020_0000, count: 1))) == "mffff000040200000,1")
        #expect(wire(.memory(.read(address: .max, count: 1))) == "mffffffffffffffff,1")
    }

    @Test func readIsFramedWithItsChecksum() {
        #expect(framed(.memory(.read(address: 0x1000, count: 4))) == "$m1000,4#8e")
        #expect(Packet.memory(.read(address: 0x1000, count: 4)).framed() == PacketEncoder.packet("m1000,4"))
    }

    @Test func writeCarriesHexBytes() {
        #expect(wire(.memory(.write(address: 0, bytes: [1, 2]))) == "M0,2:0102")
        #expect(wire(.memory(.write(address: 0x4000_0000, bytes: [0xDE, 0xAD, 0xBE, 0xEF]))) == "M40000000,4:deadbeef")
        #expect(wire(.memory(.write(address: 0x10, bytes: []))) == "M10,0:")
    }

    @Test func binaryWriteEscapesTheReservedBytes() {
        // # $ } * become } followed by the byte XOR 0x20; the count is of the unescaped bytes.
        let bytes: [UInt8] = [0x23, 0x24, 0x7D, 0x2A, 0x41, 0x00]
        #expect(Packet.memory(.writeBinary(address: 0x1000, bytes: bytes)).encode()
                == Array("X1000,6:".utf8) + [0x7D, 0x03, 0x7D, 0x04, 0x7D, 0x5D, 0x7D, 0x0A, 0x41, 0x00])
        // Framing does not escape again, and the decoder gets the original bytes back.
        var decoder = FrameDecoder()
        let frames = decoder.feed(Packet.memory(.writeBinary(address: 0x1000, bytes: bytes)).framed())
        #expect(frames == [.packet(body: Array("X1000,6:".utf8) + bytes, checksumValid: true)])
    }

    @Test func expectationsAndIdempotence() {
        for packet: Packet in [.memory(.read(address: 0, count: 1)), .memory(.write(address: 0, bytes: [1])),
                               .memory(.writeBinary(address: 0, bytes: [1]))] {
            #expect(packet.expectation == .reply)
            #expect(packet.isIdempotent, "writing the same bytes twice is harmless: \(packet)")
        }
    }
}
