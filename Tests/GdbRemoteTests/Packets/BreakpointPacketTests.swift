import Testing
@testable import GdbRemote

@Suite("Packets: breakpoints and watchpoints (Z, z)")
struct BreakpointPacketTests {
    @Test func encodings() {
        #expect(wire(.breakpoint(.insert(.software, address: 0x1000, length: 4))) == "Z0,1000,4")
        #expect(wire(.breakpoint(.insert(.writeWatchpoint, address: 0x2000, length: 8))) == "Z2,2000,8")
        #expect(wire(.breakpoint(.remove(.accessWatchpoint, address: 0xFFFF_0000_0000_0010, length: 0x10))) == "z4,ffff000000000010,10")
        #expect(wire(.breakpoint(.remove(.hardware, address: 0, length: 4))) == "z1,0,4")
    }

    @Test func expectationsAndIdempotence() {
        for packet: Packet in [.breakpoint(.insert(.software, address: 0, length: 4)), .breakpoint(.remove(.software, address: 0, length: 4))] {
            #expect(packet.expectation == .reply)
            #expect(!packet.isIdempotent, "a stub may count insertions")
        }
    }
}
