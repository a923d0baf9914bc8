import Testing
@testable import GdbRemote

@Suite("Packets: QEMU's own (qqemu.*, Qqemu.*)")
struct QEMUPacketTests {
    @Test func encodings() {
        #expect(wire(.qemu(.supported)) == "qqemu.Supported")
        #expect(wire(.qemu(.physicalMemoryMode)) == "qqemu.PhyMemMode")
        #expect(wire(.qemu(.setPhysicalMemoryMode(true))) == "Qqemu.PhyMemMode:1")
        #expect(wire(.qemu(.setPhysicalMemoryMode(false))) == "Qqemu.PhyMemMode:0")
        #expect(wire(.qemu(.singleStepFlags)) == "qqemu.sstep")
        #expect(wire(.qemu(.setSingleStepFlags(QEMUAdapter.SingleStepFlags([.enable, .noIRQ, .noTimer]).rawValue))) == "Qqemu.sstep=7")
        #expect(wire(.qemu(.setSingleStepFlags(0x1f))) == "Qqemu.sstep=1f")
    }

    @Test func repliesAreTakenAsTheyComeAndResendingIsHarmless() {
        for packet: Packet in [.qemu(.supported), .qemu(.physicalMemoryMode), .qemu(.setPhysicalMemoryMode(true)),
                               .qemu(.singleStepFlags), .qemu(.setSingleStepFlags(1))] {
            #expect(packet.expectation == .anyReply)
            #expect(packet.isIdempotent)
        }
    }
}
