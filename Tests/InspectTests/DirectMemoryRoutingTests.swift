import Testing
import Inspect
import TestSupport

/// Guest RAM in a byte array, with regions at file-like offsets: stands in for a mapped file.
final class FakeRAM: DirectRAMSource {
    let layout: GuestRAMLayout
    var bytes: [UInt8]
    var pathDescription: String { "direct (fake)" }
    let scratch = DirectReadScratch()
    var copies = 0
    var failure: String?

    init(layout: GuestRAMLayout, backingSize: Int, seed: UInt64 = 1) {
        self.layout = layout
        var generator = SeededGenerator(seed: seed)
        bytes = (0..<backingSize).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    func copy(_ pieces: [GuestRAMLayout.Piece], into buffers: [UnsafeMutableRawBufferPointer]) throws(MemoryError) {
        copies += 1
        if let failure { throw .transport(failure) }
        for (piece, buffer) in zip(pieces, buffers) {
            for i in 0..<piece.length { buffer[i] = bytes[Int(piece.backingAddress) + i] }
        }
    }
}

/// The composite's routing with a fake stub and fake RAM (no QEMU).
@Suite("Direct memory routing")
struct DirectMemoryRoutingTests {
    /// RAM at 0x4000_0000 (16 KiB, file offset 0x2000) and right after it at 0x4000_4000
    /// (8 KiB, offset 0), a hole, and RAM at 0x5000_0000 (4 KiB, offset 0x6000).
    static func layout() -> GuestRAMLayout {
        GuestRAMLayout([
            GuestRAMRegion(guestPhysicalAddress: 0x5000_0000, size: 0x1000, backingAddress: 0x6000, name: "c"),
            GuestRAMRegion(guestPhysicalAddress: 0x4000_0000, size: 0x4000, backingAddress: 0x2000, name: "a"),
            GuestRAMRegion(guestPhysicalAddress: 0x4000_4000, size: 0x2000, backingAddress: 0x0, name: "b"),
        ])!
    }

    /// A stub whose physical memory holds the same bytes as the fake RAM.
    static func pair() -> (stub: SyntheticMemory, ram: FakeRAM, source: DirectPhysicalMemorySource) {
        let ram = FakeRAM(layout: layout(), backingSize: 0x7000)
        let stub = SyntheticMemory()
        for region in ram.layout.regions {
            let start = Int(region.backingAddress)
            stub.store(Array(ram.bytes[start..<start + Int(region.size)]), at: region.guestPhysicalAddress)
        }
        stub.store([0xAA, 0xBB], at: 0x0900_0000)   // "MMIO"
        stub.virtualToPhysical = { $0 >= 0xFFFF_0000_0000_0000 ? $0 - 0xFFFF_0000_0000_0000 : nil }
        return (stub, ram, DirectPhysicalMemorySource(stub: stub, direct: ram, targetIsStopped: true))
    }

    @Test func layoutPiecesSpanAdjacentRegionsButNotHoles() {
        let layout = Self.layout()
        #expect(layout.pieces(address: 0x4000_3FF8, length: 16) == [
            .init(backingAddress: 0x5FF8, offset: 0, length: 8), .init(backingAddress: 0x0, offset: 8, length: 8)])
        #expect(layout.pieces(address: 0x4000_5FF8, length: 16) == nil)     // runs into the hole
        #expect(layout.pieces(address: 0x3FFF_FFF8, length: 16) == nil)     // starts before RAM
        #expect(layout.pieces(address: 0x5000_0FFF, length: 1) == [.init(backingAddress: 0x6FFF, offset: 0, length: 1)])
        #expect(layout.pieces(address: 0x5000_1000, length: 1) == nil)
        #expect(layout.pieces(address: UInt64.max - 3, length: 8) == nil)  // wraps
        #expect(GuestRAMLayout([GuestRAMRegion(guestPhysicalAddress: 0, size: 0x2000, backingAddress: 0, name: "x"),
                                GuestRAMRegion(guestPhysicalAddress: 0x1000, size: 0x1000, backingAddress: 0, name: "y")]) == nil)
    }

    @Test func physicalRAMGoesDirectEverythingElseToTheStubInOrder() throws {
        let (stub, ram, source) = Self.pair()
        let requests = [
            MemoryRequest(.physical, address: 0x4000_3FF0, length: 0x20),        // spans regions a and b: direct
            MemoryRequest(.physical, address: 0x0900_0000, length: 2),           // MMIO: stub
            MemoryRequest(.virtual, address: 0xFFFF_0000_4000_0010, length: 8),  // virtual: stub
            MemoryRequest(.physical, address: 0x4000_5FF0, length: 0x20),        // into the hole: stub
            MemoryRequest(.physical, address: 0x5000_0000, length: 0x1000),      // region c: direct
        ]
        let replies = try source.read(requests)
        for (request, reply) in zip(requests, replies) {
            let expected = stub.bytes(at: request.space == .virtual ? request.address - 0xFFFF_0000_0000_0000 : request.address, count: request.length)
            #expect(reply == expected, "\(request)")
        }
        #expect(ram.copies == 1)                                  // one direct batch
        #expect(stub.batches == [[requests[1], requests[2], requests[3]]])   // one stub batch, order kept
        #expect(source.path == "direct (fake)")
    }

    @Test func manyRandomRangesMatchTheStub() throws {
        let (stub, _, source) = Self.pair()
        var generator = SeededGenerator(seed: 7)
        let requests = (0..<500).map { _ -> MemoryRequest in
            let base: UInt64 = [0x4000_0000, 0x5000_0000, 0x3FFF_F000][Int.random(in: 0...2, using: &generator)]
            return MemoryRequest(.physical, address: base + UInt64.random(in: 0..<0x7000, using: &generator),
                                 length: Int.random(in: 1...0x3000, using: &generator))
        }
        let direct = try source.readEach(requests)
        for (request, result) in zip(requests, direct) {
            #expect((try? result.get()) == stub.bytes(at: request.address, count: request.length), "\(request)")
        }
    }

    @Test func whileRunningEverythingGoesToTheStub() throws {
        let (stub, ram, source) = Self.pair()
        let request = MemoryRequest(.physical, address: 0x4000_0000, length: 64)
        source.targetResumed()
        #expect(!source.readsDirectly)
        _ = try source.read([request])
        #expect(ram.copies == 0 && stub.roundTrips == 1)
        source.targetStopped()
        _ = try source.read([request])
        #expect(ram.copies == 1 && stub.roundTrips == 1)
        // The second guard: a stub that says it is not stopped keeps reads off the direct path.
        var stubStopped = false
        let guarded = DirectPhysicalMemorySource(stub: stub, direct: ram, targetIsStopped: true, stubIsStopped: { stubStopped })
        _ = try guarded.read([request])
        #expect(ram.copies == 1 && stub.roundTrips == 2)
        stubStopped = true
        _ = try guarded.read([request])
        #expect(ram.copies == 2)
    }

    @Test func writesGoToTheStub() throws {
        let (stub, ram, source) = Self.pair()
        try source.write([1, 2, 3], to: 0x4000_0100, in: .physical)
        #expect(stub.bytes(at: 0x4000_0100, count: 3) == [1, 2, 3])
        #expect(ram.copies == 0)
    }

    @Test func aFailingDirectSourceIsDroppedWithOneLineAndTheStubAnswers() throws {
        let (stub, ram, source) = Self.pair()
        ram.failure = "QEMU (pid 42) has exited"
        let request = MemoryRequest(.physical, address: 0x4000_0000, length: 64)
        #expect(try source.read(request) == stub.bytes(at: 0x4000_0000, count: 64))
        #expect(source.path == "gdbstub")
        #expect(source.statusLine.contains("QEMU (pid 42) has exited") && !source.statusLine.contains("\n"))
        stub.transportFailure = "connection closed"
        #expect(throws: MemoryError.transport("connection closed")) { try source.read([request]) }
    }

    @Test func noDirectSourceIsTheStubPath() throws {
        let stub = SyntheticMemory()
        let source = DirectPhysicalMemorySource(stub: stub, direct: nil, fallbackReason: "the gdbstub's peer is pid 1 (socat), not qemu-system-*", targetIsStopped: true)
        #expect(source.path == "gdbstub")
        #expect(source.statusLine == "memory: gdbstub (the gdbstub's peer is pid 1 (socat), not qemu-system-*)")
        _ = try source.read([MemoryRequest(.physical, address: 0x4000_0000, length: 8)])
        #expect(stub.roundTrips == 1)
    }

    @Test func physicalScopeRefusesVirtualReadsLikeTheStub() throws {
        let (_, _, source) = Self.pair()
        let results = try source.withPhysicalMode { () throws(MemoryError) in
            try source.readEach([MemoryRequest(.virtual, address: 0xFFFF_0000_4000_0000, length: 8),
                                 MemoryRequest(.physical, address: 0x4000_0000, length: 8)])
        }
        guard case .failure = results[0], case .success = results[1] else { Issue.record("\(results)"); return }
    }
}
