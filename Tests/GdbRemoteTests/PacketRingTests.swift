import Testing
@testable import GdbRemote
import TestSupport

/// Every protocol error carries the ring of recent packets, and its newest entries
/// are the exchange that failed (what `show last-error` prints).
@Suite("Packet ring on errors")
struct PacketRingTests {
    private func connect(_ script: [ScriptedStub.Step], features: String = "PacketSize=1000;vContSupported+")
        -> (Result<GdbClient, GdbError>, ScriptedStub) {
        let stub = ScriptedStub(ScriptedStub.handshake(features: features) + script)
        stub.start()
        do throws(GdbError) {
            return (.success(try GdbClient(transport: stub.clientTransport, timeout: 30)), stub)
        } catch {
            return (.failure(error), stub)
        }
    }

    @Test func stubErrorEndsWithTheFailingExchange() throws {
        let (result, stub) = connect([.expect("Z0,1000,4"), .reply("E01")])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.setBreakpoint(.software, at: 0x1000) }
        #expect(error?.recentPackets.suffix(2) == ["-> Z0,1000,4", "<- E01"])
        #expect(error?.recentPackets.first?.hasPrefix("-> qSupported:multiprocess+;") == true, "the ring goes back to the handshake")
        #expect(stub.finish() == [])
    }

    @Test func malformedReplyEndsWithTheFailingExchange() throws {
        let (result, stub) = connect([.expect("m1000,4"), .reply("00")])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0x1000, count: 4) }
        #expect(error?.recentPackets.suffix(2) == ["-> m1000,4", "<- 00"])
        #expect(stub.finish() == [])
    }

    @Test func corruptedRepliesPastTheRetryLimitEndWithThem() throws {
        let bad = ScriptedStub.Step.raw(Array("$abcd#00".utf8))
        let (result, stub) = connect([.expect("m1000,2"), bad, .expectNack, bad, .expectNack, bad, .expectNack, bad, .expectNack, bad])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0x1000, count: 2) }
        #expect(error?.kind == .retryLimitExceeded(attempts: 5))
        let ring = error?.recentPackets ?? []
        #expect(Array(ring.suffix(5)) == Array(repeating: "<- (bad checksum) abcd", count: 5), "\(ring)")
        #expect(ring.dropLast(5).last == "-> m1000,2")
        // The connection notes the failure itself for later errors.
        #expect(client.recentPackets.last?.hasPrefix("!! readMemory: gave up after 5 attempts") == true)
        _ = stub.finish()
    }

    @Test func targetDescriptionErrorCarriesTheRing() {
        let (result, stub) = connect([.expect("qXfer:features:read:target.xml:0,ff0"), .reply(#"l<target><reg name="x0" bitsize="0"/></target>"#)],
                                     features: "PacketSize=1000;qXfer:features:read+")
        guard case .failure(let error) = result else { Issue.record("connected despite bitsize 0"); return }
        #expect(error.recentPackets.suffix(2).first == "-> qXfer:features:read:target.xml:0,ff0")
        #expect(error.recentPackets.last?.hasPrefix("<- l<target>") == true)
        _ = stub.finish()
    }

    @Test func qemuAdapterErrorCarriesTheRing() throws {
        let (result, stub) = connect([.expect("qqemu.sstep"), .reply("zz")])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.qemu.singleStepFlags() }
        #expect(error?.recentPackets.suffix(2) == ["-> qqemu.sstep", "<- zz"])
        #expect(stub.finish() == [])
    }

    @Test func detailedDescriptionListsTheRingUnderTheOneLineError() {
        let error = GdbError(.stubError(code: 0x14), operation: "readMemory", packet: "m0,4", address: 0,
                             recentPackets: ["-> m0,4", "<- E14"])
        #expect(error.detailedDescription == """
            readMemory at 0x0: stub answered error E14 (bad address: not mapped) (packet m0,4)
            recent packets:
              -> m0,4
              <- E14
            """)
    }
}
