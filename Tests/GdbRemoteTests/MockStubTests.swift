import Testing
import Foundation
@testable import GdbRemote
import TestSupport

/// Transcript tests: the real client against a scripted stub, for what QEMU
/// cannot be made to do on demand.
@Suite("Connection against a scripted stub")
struct MockStubTests {
    /// Starts `script` after the handshake and returns a connected client whose
    /// requests time out after `timeout` seconds of silence. The handshake itself
    /// gets a generous deadline: a loaded host may be slow to run the stub's thread,
    /// and a short deadline is only ever what a test checks, after connecting.
    private func connect(_ script: [ScriptedStub.Step], timeout: Double = 30) throws -> (GdbClient, ScriptedStub) {
        let stub = ScriptedStub(ScriptedStub.handshake() + script)
        stub.start()
        let client = try GdbClient(transport: stub.clientTransport, timeout: 30)
        client.timeout = timeout
        return (client, stub)
    }

    /// Upper bound on how long an operation with a short deadline may take to fail:
    /// the deadline plus slack for a loaded host, still far below "hangs".
    private static let schedulingSlack = 5.0

    @Test func readMemoryWithAcks() throws {
        let (client, stub) = try connect([.expect("m1000,4"), .reply("deadbeef")])
        #expect(try client.readMemory(at: 0x1000, count: 4) == [0xDE, 0xAD, 0xBE, 0xEF])
        #expect(stub.finish() == [])
        #expect(stub.transcript.suffix(2) == ["-> m1000,4", "<- deadbeef"])
    }

    @Test func requestsArePipelinedAndRepliesMatchedInOrder() throws {
        // The stub takes all three requests before answering any: only a pipelining client gets through.
        let (client, stub) = try connect([.expect("m0,4"), .expect("m4,4"), .expect("m8,2"),
                                          .reply("00010203"), .reply("04050607"), .reply("0809")])
        client.memoryReadChunkSize = 4
        #expect(try client.readMemory(at: 0, count: 10) == Array(0..<10))
        #expect(stub.finish() == [])
    }

    @Test func longReadsRefillTheWindowAndKeepEveryReplyInPlace() throws {
        // 40 one-byte chunks through a window of 4: the window is refilled many times.
        let script = (0..<40).flatMap { i -> [ScriptedStub.Step] in
            [.expect("m\(String(0x500 + i, radix: 16)),1"), .reply(Hex.encode([UInt8(i)]))]
        }
        let (client, stub) = try connect(script)
        client.memoryReadChunkSize = 1
        client.pipelineWindow = 4
        #expect(try client.readMemory(at: 0x500, count: 40) == Array(0..<40))
        #expect(stub.finish() == [])
    }

    @Test func batchReadOfManyRangesIsOneExchange() throws {
        let (client, stub) = try connect([.expect("m100,2"), .expect("m200,1"), .expect("m300,3"),
                                          .reply("0102"), .reply("E14"), .reply("070809")])
        let results = try client.readMemoryAllowingFailures(ranges: [
            MemoryRange(address: 0x100, count: 2), MemoryRange(address: 0x200, count: 1), MemoryRange(address: 0x300, count: 3)])
        #expect(try results[0].get() == [1, 2])
        #expect(try results[2].get() == [7, 8, 9])
        guard case .failure(let error) = results[1] else { Issue.record("range 2 should fail"); return }
        #expect(error.kind == .stubError(code: 0x14))
        #expect(error.address == 0x200)
        #expect(error.description == "readMemory at 0x200: stub answered error E14 (bad address: not mapped) (packet m200,1)")
        _ = stub.finish()
    }

    @Test func badChecksumReplyIsRequestedAgain() throws {
        let (client, stub) = try connect([.expect("m1000,2"), .raw(Array("$abcd#00".utf8)), .expectNack, .reply("abcd")])
        #expect(try client.readMemory(at: 0x1000, count: 2) == [0xAB, 0xCD])
        #expect(stub.finish() == [])
    }

    @Test func nakStormHitsTheRetryLimit() throws {
        // The client sends the packet once and re-sends it 4 times (retryLimit): 5 refusals, then it gives up.
        let storm = (0..<5).flatMap { _ in [ScriptedStub.Step.expect("m1000,2", ack: false), .nack] }
        let (client, stub) = try connect(storm)
        let start = Date()
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0x1000, count: 2) }
        #expect(error?.kind == .retryLimitExceeded(attempts: 5))
        // Each refusal is answered at once: waiting the 30 s reply deadline on any would exceed this.
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(client.state == .closed)
        #expect(stub.finish() == [])
    }

    @Test func nackOfAPipelinedPacketMovesItToTheBack() throws {
        // m4,4 is refused; the stub answers m0, m8 and then the re-sent m4, in that order.
        let (client, stub) = try connect([.expect("m0,4"), .expect("m4,4", ack: false), .nack, .expect("m8,4"), .expect("m4,4"),
                                          .reply("00010203"), .reply("08090a0b"), .reply("04050607")])
        client.memoryReadChunkSize = 4
        #expect(try client.readMemory(at: 0, count: 12) == Array(0..<12))
        #expect(stub.finish() == [])
    }

    @Test func garbageBetweenPacketsIsIgnored() throws {
        let (client, stub) = try connect([.expect("m0,1"), .raw(Array("\r\nnoise\0".utf8)), .reply("2a")])
        #expect(try client.readMemory(at: 0, count: 1) == [0x2A])
        #expect(stub.finish() == [])
    }

    @Test func truncatedReplyFollowedBySilenceTimesOut() throws {
        let (client, stub) = try connect([.expect("m0,4"), .raw(Array("$0001".utf8)), .sleep(1)], timeout: 0.3)
        let start = Date()
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0, count: 4) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(error?.kind == .timedOut(seconds: 0.3))
        #expect(elapsed >= 0.29 && elapsed < 0.3 + Self.schedulingSlack, "\(elapsed) s")
        _ = stub.finish()
    }

    @Test func disconnectMidPacketFailsAtOnce() throws {
        let (client, stub) = try connect([.expect("m0,4"), .raw(Array("$00".utf8)), .disconnect])
        let start = Date()
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0, count: 4) }
        guard case .disconnected = error?.kind else { Issue.record("expected disconnected, got \(String(describing: error))"); return }
        #expect(Date().timeIntervalSince(start) < 10, "at once, not at the 30 s reply deadline")
        #expect(client.state == .closed)
        // Later calls fail fast with the same story.
        #expect(throws: GdbError.self) { try client.readRegister("pc") }
        #expect(throws: GdbError.self) { try client.readMemory(at: 0, count: 4) }
        _ = stub.finish()
    }

    @Test func silentStubGivesAnErrorWithinTheDeadline() throws {
        let (client, stub) = try connect([.expect("m0,4"), .sleep(1.5)], timeout: 0.25)
        let start = Date()
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0, count: 4) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(error?.kind == .timedOut(seconds: 0.25))
        #expect(elapsed >= 0.24 && elapsed < 0.25 + Self.schedulingSlack, "\(elapsed) s")
        #expect(error?.recentPackets.last == "-> m0,4")
        #expect(error?.description == "readMemory: no reply within 0.25s (packet m0,4)")
        _ = stub.finish()
    }

    @Test func stopReplyArrivingWhileARequestIsInFlight() throws {
        let (client, stub) = try connect([.expect("m0,2"), .reply("T05thread:p01.01;"), .reply("beef")])
        #expect(try client.readMemory(at: 0, count: 2) == [0xBE, 0xEF])
        #expect(client.connection.takeAsynchronousStops().map { String(decoding: $0, as: UTF8.self) } == ["T05thread:p01.01;"])
        #expect(client.state == .stopped)
        #expect(stub.finish() == [])
    }

    @Test func oversizedReplyIsAnErrorAndTheStreamStaysInStep() throws {
        let huge = String(repeating: "00", count: 600_000)  // 1.2 MB, over the 1 MiB reply limit
        let (client, stub) = try connect([.expect("m0,4"), .reply(huge), .expect("m0,4"), .reply("01020304")])
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0, count: 4) }
        guard case .malformedReply = error?.kind else { Issue.record("expected malformedReply, got \(String(describing: error))"); return }
        #expect(try client.readMemory(at: 0, count: 4) == [1, 2, 3, 4])
        #expect(stub.finish() == [])
    }

    @Test func packetsOverThePacketSizeAreNeverSent() throws {
        let (client, stub) = try connect([.expect("M0,2:0102"), .reply("OK")])
        try client.writeMemory(at: 0, bytes: [1, 2])
        client.memoryWriteChunkSize = 5000
        let error = #expect(throws: GdbError.self) { try client.writeMemory(at: 0, bytes: Array(repeating: 0, count: 4000)) }
        #expect(error?.kind == .packetTooLarge(bytes: 8011, limit: 4096))
        #expect(stub.finish() == [])
    }

    @Test func consoleOutputWhileRunningIsCollectedNotTakenForAReply() throws {
        let (client, stub) = try connect([
            .expect("c"), .reply("O" + Hex.encode(Array("hello ".utf8))), .reply("O" + Hex.encode(Array("world\n".utf8))),
            .reply("T05thread:p01.01;"),
        ])
        let stop = try client.continueAndWait(timeout: 30)
        #expect(stop.signal == 5)
        #expect(stop.thread == ThreadID(process: 1, thread: 1))
        #expect(client.takeConsoleOutput() == "hello world\n")
        #expect(client.state == .stopped)
        #expect(stub.finish() == [])
    }

    @Test func interruptARunningTarget() throws {
        let (client, stub) = try connect([.expect("c"), .expectInterrupt, .reply("T02thread:p01.01;")])
        try client.resume()
        #expect(client.state == .running)
        #expect(throws: GdbError.self) { try client.readMemory(at: 0, count: 1) }  // never pipeline past a resume
        let stop = try client.interrupt(timeout: 30)
        #expect(stop.signal == 2)
        #expect(client.state == .stopped)
        #expect(stub.finish() == [])
    }

    @Test func interruptFromAnotherThreadWhileWaiting() throws {
        let (client, stub) = try connect([.expect("c"), .expectInterrupt, .reply("T02thread:p01.01;")])
        try client.resume()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { _ = try? client.interrupt(timeout: 30) }
        let stop = try client.waitForStop(timeout: 30)
        #expect(stop.signal == 2)
        #expect(stub.finish() == [])
    }

    @Test func interruptWithASilentStubTimesOut() throws {
        let (client, stub) = try connect([.expect("c"), .expectInterrupt, .sleep(1)])
        try client.resume()
        let start = Date()
        let error = #expect(throws: GdbError.self) { try client.interrupt(timeout: 0.3) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(error?.kind == .timedOut(seconds: 0.3))
        #expect(elapsed >= 0.29 && elapsed < 0.3 + Self.schedulingSlack, "\(elapsed) s")
        #expect(client.state == .interrupting)
        _ = stub.finish()
    }

    @Test func reverseCommandsNeedTheStubToOfferThem() throws {
        let (client, stub) = try connect([])
        #expect(!client.canReverse)
        let error = #expect(throws: GdbError.self) { try client.reverseStep() }
        #expect(error?.kind == .unsupported)
        #expect(stub.finish() == [])
    }

    @Test func reverseExecutionOnAReplayingStub() throws {
        let stub = ScriptedStub(ScriptedStub.handshake(features: "PacketSize=1000;vContSupported+;ReverseStep+;ReverseContinue+") + [
            .expect("bs"), .reply("E14"),                    // at the start: nothing to go back to
            .expect("bc"), .reply("T05watch:ffff000040001000;"),  // a watchpoint behind us
            .expect("bc"), .reply("T02thread:p01.01;"),       // ran back to the start
            .expect("bc"), .expectInterrupt, .reply("T02thread:p01.01;"),  // our own interrupt is no boundary
        ])
        stub.start()
        let client = try GdbClient(transport: stub.clientTransport, timeout: 30)
        #expect(client.canReverse)
        let atStart = try client.reverseStep()
        #expect(atStart.replayBoundary == .begin)
        #expect(client.state == .stopped)
        try client.reverseResume()
        let watch = try client.waitForStop(timeout: 30)
        #expect(watch.watchpoint?.address == 0xffff_0000_4000_1000 && watch.replayBoundary == nil)
        try client.reverseResume()
        #expect(try client.waitForStop(timeout: 30).replayBoundary == .begin)
        try client.reverseResume()
        let interrupted = try client.interrupt(timeout: 30)
        #expect(interrupted.signal == 2 && interrupted.replayBoundary == nil)
        #expect(stub.finish() == [])
    }

    @Test func processExitEndsTheSession() throws {
        let (client, stub) = try connect([.expect("c"), .reply("W00")])
        let stop = try client.continueAndWait(timeout: 30)
        #expect(stop.kind == .exited(status: 0))
        #expect(client.state == .exited)
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0, count: 1) }
        #expect(error?.kind == .invalidState(.exited))
        #expect(stub.finish() == [])
    }

    @Test func monitorCommandReturnsItsText() throws {
        let (client, stub) = try connect([
            .expect("qRcmd," + Hex.encode(Array("info version".utf8))),
            .reply("O" + Hex.encode(Array("7.2.0\n".utf8))), .reply("OK"),
        ])
        #expect(try client.monitor("info version") == "7.2.0\n")
        #expect(stub.finish() == [])
    }

    @Test func unsupportedAndErrorRepliesAreTyped() throws {
        let (client, stub) = try connect([.expect("Z0,1000,4"), .reply(""), .expect("Z2,2000,8"), .reply("E01")])
        let unsupported = #expect(throws: GdbError.self) { try client.setBreakpoint(.software, at: 0x1000) }
        #expect(unsupported?.kind == .unsupported)
        let refused = #expect(throws: GdbError.self) { try client.setBreakpoint(.writeWatchpoint, at: 0x2000, length: 8) }
        #expect(refused?.kind == .stubError(code: 1))
        #expect(refused?.address == 0x2000)
        #expect(client.breakpoints.isEmpty)
        #expect(stub.finish() == [])
    }

    @Test func registersComeFromTheTargetDescriptionAndAreCachedWhileStopped() throws {
        let xml = #"<target><feature name="core"><reg name="x0" bitsize="64"/><reg name="pc" bitsize="64" regnum="32"/></feature></target>"#
        let stub = ScriptedStub(ScriptedStub.handshake(features: "PacketSize=1000;qXfer:features:read+") + [
            .expect("qXfer:features:read:target.xml:0,ff0"), .reply("l" + xml),
            .expect("p20"), .reply("0001084000000000"),
            .expect("P0=0700000000000000"), .reply("OK"),
            .expect("p20"), .reply("0401084000000000"),
        ])
        stub.start()
        let client = try GdbClient(transport: stub.clientTransport, timeout: 30)
        #expect(client.registerMap.registers.map(\.name) == ["x0", "pc"])
        #expect(try client.readRegister("pc") == 0x4008_0100)
        #expect(try client.readRegister("PC") == 0x4008_0100)  // from the cache: no second p20 on the wire
        try client.writeRegister("x0", value: 7)             // a write forgets the cache
        #expect(try client.readRegister("pc") == 0x4008_0104)
        #expect(stub.finish() == [])
    }

    @Test func noAckModeIsUsedWhenOffered() throws {
        let stub = ScriptedStub([
            .expectPrefix("qSupported"), .reply("PacketSize=4000;QStartNoAckMode+"),
            .expect("QStartNoAckMode"), .reply("OK"),
            .expect("vCont?", ack: false), .reply(""),
            .expect("qqemu.Supported", ack: false), .reply(""),
            .expect("m0,1", ack: false), .reply("ff"),
        ])
        stub.start()
        let client = try GdbClient(transport: stub.clientTransport, timeout: 30)
        #expect(client.connection.ackMode == false)
        #expect(try client.readMemory(at: 0, count: 1) == [0xFF])
        #expect(stub.finish() == [])
        #expect(client.features.packetSize == 0x4000)
    }
}
