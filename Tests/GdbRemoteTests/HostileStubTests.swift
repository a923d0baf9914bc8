import Testing
import Foundation
@testable import GdbRemote
import TestSupport

/// A stub that sends numbers and sizes no real stub would: every one is a typed
/// one-line error (or a clamped value), never a trap. Each case was a crash once.
@Suite("Hostile stub data")
struct HostileStubTests {
    private static let withDescription = "PacketSize=1000;qXfer:features:read+"

    /// Connects through `script` (handshake included) and returns the client, or the connect error.
    private func connect(_ script: [ScriptedStub.Step]) -> (Result<GdbClient, GdbError>, ScriptedStub) {
        let stub = ScriptedStub(script)
        stub.start()
        do throws(GdbError) {
            return (.success(try GdbClient(transport: stub.clientTransport, timeout: 30)), stub)
        } catch {
            return (.failure(error), stub)
        }
    }

    /// The handshake of a stub that serves `xml` as target.xml.
    private func connect(targetXML xml: String, then script: [ScriptedStub.Step] = []) -> (Result<GdbClient, GdbError>, ScriptedStub) {
        connect(ScriptedStub.handshake(features: HostileStubTests.withDescription)
                + [.expect("qXfer:features:read:target.xml:0,ff0"), .reply("l" + xml)] + script)
    }

    private func expectMalformed(_ error: GdbError?, operation: String, containing text: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error, case .malformedReply(let why) = error.kind else {
            Issue.record("expected a malformedReply, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(error.operation == operation, sourceLocation: sourceLocation)
        #expect(why.contains(text), "\(why)", sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    }

    // MARK: qSupported

    @Test(arguments: [
        ("PacketSize=ffffffffffffffff", 1 << 20),   // over Int.max: used to trap in Int(_:)
        ("PacketSize=7fffffffffffffff", 1 << 20),
        ("PacketSize=0", 64),
        ("PacketSize=", 0x400),                     // not a number: the protocol default
        ("PacketSize=10000000000000000", 0x400),    // 17 digits: not a 64-bit number
        ("PacketSize=-1", 0x400),
        ("PacketSize=800", 0x800),
    ])
    func packetSizeIsClampedWhateverTheStubAnnounces(reply: String, expected: Int) throws {
        let (result, stub) = connect(ScriptedStub.handshake(features: reply + ";vContSupported+;+;-;?;;"))
        let client = try result.get()
        #expect(client.features.packetSize == expected)
        #expect(client.connection.maximumPacketSize == expected)
        #expect(client.memoryReadChunkSize >= 1 && client.memoryWriteChunkSize >= 1)
        #expect(stub.finish() == [])
    }

    // MARK: target.xml

    @Test(arguments: [
        (#"<reg name="x0" bitsize="64" regnum="9223372036854775807"/>"#, "regnum 9223372036854775807"),
        (#"<reg name="x0" bitsize="64" regnum="99999999999999999999999"/>"#, "regnum 99999999999999999999999"),
        (#"<reg name="x0" bitsize="64" regnum="-1"/>"#, "regnum -1"),
        (#"<reg name="x0" bitsize="64" regnum="65536"/>"#, "regnum 65536"),
        (#"<reg name="x0" bitsize="9223372036854775807"/>"#, "bitsize 9223372036854775807"),
        (#"<reg name="x0" bitsize="0"/>"#, "bitsize 0"),
        (#"<reg name="x0" bitsize="-64"/>"#, "bitsize -64"),
        (#"<reg name="x0" bitsize="2049"/>"#, "bitsize 2049"),
        (#"<reg name="x0" bitsize="sixty-four"/>"#, "bitsize sixty-four"),
        // Implicit numbering would pass 65535 after the last explicit number.
        (#"<reg name="a" bitsize="64" regnum="65535"/><reg name="b" bitsize="64"/>"#, "register b numbered past 65535"),
    ])
    func targetDescriptionOutOfRangeIsAConnectError(register: String, expected: String) {
        let (result, stub) = connect(targetXML: "<target><feature name=\"core\">\(register)</feature></target>")
        guard case .failure(let error) = result else { Issue.record("connected despite \(register)"); return }
        expectMalformed(error, operation: "read target description", containing: expected)
        #expect(error.packet == "qXfer:features:read:target.xml")
        _ = stub.finish()
    }

    @Test func registersAtTheEdgesOfTheRangesAreAccepted() throws {
        let xml = #"<target><reg name="wide" bitsize="2048" regnum="65534"/><reg name="bit" bitsize="1"/></target>"#
        let (result, stub) = connect(targetXML: xml)
        let client = try result.get()
        #expect(client.registerMap.register(named: "wide")?.byteSize == 256)
        #expect(client.registerMap.register(named: "bit")?.number == 65535)
        #expect(client.registerMap.register(named: "bit")?.byteSize == 1)
        #expect(stub.finish() == [])
    }

    @Test func includeFloodIsCutOff() throws {
        // Every include is new, so neither the depth limit nor the visited set stops it.
        var fetched = 0
        let error = #expect(throws: GdbError.self) {
            _ = try TargetDescriptionParser.registerMap(root: "target.xml") { (annex) throws(GdbError) -> String in
                fetched += 1
                return (0..<10).map { #"<xi:include href="\#(annex)-\#($0).xml"/>"# }.joined()
            }
        }
        expectMalformed(error, operation: "read target description", containing: "more than 64 included documents")
        #expect(fetched == TargetDescriptionParser.maximumDocuments)
    }

    @Test func moreRegistersThanNumbersIsAnError() throws {
        // 4 documents of 16385 registers: past 65536 the implicit numbers run out.
        let document = String(repeating: #"<reg name="r"/>"#, count: 16385)
        let error = #expect(throws: GdbError.self) {
            _ = try TargetDescriptionParser.registerMap(root: "target.xml") { (annex) throws(GdbError) -> String in
                annex == "target.xml" ? (0..<4).map { #"<xi:include href="\#($0)"/>"# }.joined() : document
            }
        }
        expectMalformed(error, operation: "read target description", containing: "numbered past 65535")
    }

    @Test func qXferThatNeverEndsIsAnError() throws {
        // One byte per reply, never `l`: the client gives up after maximumXferReplies.
        let drip = (0..<GdbClient.maximumXferReplies).flatMap { _ -> [ScriptedStub.Step] in [.expectPrefix("qXfer:features:read:target.xml:"), .reply("m ")] }
        let (result, stub) = connect(ScriptedStub.handshake(features: HostileStubTests.withDescription) + drip)
        guard case .failure(let error) = result else { Issue.record("connected through an endless qXfer"); return }
        expectMalformed(error, operation: "read target description", containing: "not complete after 4096 replies")
        #expect(stub.finish() == [])
    }

    // MARK: qqemu.sstep

    @Test(arguments: [
        ("ffffffffffffffff", nil),      // over Int.max: used to trap in Int(_:)
        ("0x8000000000000000", nil),
        ("0x", nil),
        ("zz", nil),
        ("10000000000000000", nil),
        ("0x7", 7),
        ("5", 5),
        ("7fffffffffffffff", Int.max),
    ] as [(String, Int?)])
    func singleStepFlagsReplyIsParsedOrRefused(reply: String, expected: Int?) throws {
        let (result, stub) = connect(ScriptedStub.handshake() + [.expect("qqemu.sstep"), .reply(reply)])
        let client = try result.get()
        if let expected {
            #expect(try client.qemu.singleStepFlags().rawValue == expected)
        } else {
            let error = #expect(throws: GdbError.self) { try client.qemu.singleStepFlags() }
            expectMalformed(error, operation: "singleStepFlags", containing: "sstep flags \(reply)")
        }
        #expect(stub.finish() == [])
    }

    @Test func stubTextInAnErrorStaysOnOneShortLine() throws {
        let reply = "1\n2\r3\u{2028}" + String(repeating: "x", count: 5000)
        let (result, stub) = connect(ScriptedStub.handshake() + [.expect("qqemu.sstep"), .reply(reply)])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.qemu.singleStepFlags() }
        let description = error?.description ?? ""
        #expect(description.hasPrefix(#"singleStepFlags: malformed reply: sstep flags 1\n2\r3\u{2028}xxx"#), "\(description)")
        #expect(!description.contains("\n") && !description.contains("\u{2028}"))
        #expect(description.count < 300)
        #expect(stub.finish() == [])
    }

    // MARK: thread ids and stop replies

    @Test(arguments: [
        ("mffffffffffffffffff", "bad thread id ffffffffffffffffff"),   // over 64 bits
        ("mp80000000.1", "bad thread id p80000000.1"),                // over Int32
        ("mp1.,", "bad thread id p1."),
        ("m" + String(repeating: "1,", count: GdbClient.maximumThreadCount + 1), "more than 65536 threads"),
        ("x", "thread list must start with m or l"),
    ])
    func hostileThreadListsAreRefused(reply: String, expected: String) throws {
        let (result, stub) = connect(ScriptedStub.handshake() + [.expect("qfThreadInfo"), .reply(reply)])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.threads() }
        expectMalformed(error, operation: "threads", containing: expected)
        #expect(stub.finish() == [])
    }

    @Test func stopReplyWithOutOfRangeNumbersParsesWithoutThem() throws {
        let (result, stub) = connect(ScriptedStub.handshake() + [
            .expect("c"), .reply("T05thread:pffffffffffffffffff.1;watch:1ffffffffffffffff;hwbreak:;"),
            .expect("c"), .reply("Wffffffffffffffff;process:ffffffffffffffffffff"),
        ])
        let client = try result.get()
        let stop = try client.continueAndWait(timeout: 30)
        #expect(stop.signal == 5 && stop.thread == nil && stop.watchpoint == nil && stop.isBreakpoint)
        #expect(try client.continueAndWait(timeout: 30).kind == .exited(status: 0xFF))
        #expect(stub.finish() == [])
    }

    // MARK: m, p and g replies of the wrong length

    @Test(arguments: [
        ("00", "1 bytes instead of 4"),
        ("0011223344", "5 bytes instead of 4"),
        ("0011223", "3 bytes instead of 4"),   // odd length
        ("0011zz33", "not hex"),
    ])
    func memoryReplyOfTheWrongLengthFailsItsRange(reply: String, expected: String) throws {
        let (result, stub) = connect(ScriptedStub.handshake() + [.expect("m1000,4"), .reply(reply), .expect("m1000,4"), .reply("01020304")])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.readMemory(at: 0x1000, count: 4) }
        expectMalformed(error, operation: "readMemory", containing: expected)
        #expect(error?.address == 0x1000)
        #expect(try client.readMemory(at: 0x1000, count: 4) == [1, 2, 3, 4], "the stream stays in step")
        #expect(stub.finish() == [])
    }

    private static let coreXML = #"<target><feature name="core"><reg name="x0" bitsize="64"/><reg name="pc" bitsize="64"/><reg name="cpsr" bitsize="32"/></feature></target>"#

    @Test(arguments: [
        ("000102030405060", "odd number of hex digits"),
        ("0001020304050607ff", "9 bytes for a 64-bit register"),
        ("00010203", "4 bytes for a 64-bit register"),
        ("0001020304050g07", "not hex"),
    ])
    func registerReplyOfTheWrongLengthIsRefused(reply: String, expected: String) throws {
        let (result, stub) = connect(targetXML: HostileStubTests.coreXML,
                                     then: [.expect("p1"), .reply(reply), .expect("p1"), .reply("0800084000000000")])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.readRegister("pc") }
        expectMalformed(error, operation: "readRegister pc", containing: expected)
        #expect(try client.readRegisters(["pc"]) == [0x4008_0008], "a refused value is not cached")
        #expect(stub.finish() == [])
    }

    @Test(arguments: [
        ("0001020304050607" + "08090a0b0c0d0e0f" + "1011", "ends inside cpsr after 16 bytes"),
        ("0001020304050607" + "08090a0b0c0d0e0f" + "10111", "odd number of hex digits"),
        ("000102030405", "ends inside x0 after 0 bytes"),
    ])
    func generalRegistersReplyOfTheWrongLengthIsRefused(reply: String, expected: String) throws {
        let (result, stub) = connect(targetXML: HostileStubTests.coreXML, then: [.expect("g"), .reply(reply)])
        let client = try result.get()
        let error = #expect(throws: GdbError.self) { try client.readGeneralRegisters() }
        expectMalformed(error, operation: "readGeneralRegisters", containing: expected)
        #expect(stub.finish() == [])
    }

    @Test func generalRegistersOfWholeRegistersAreAccepted() throws {
        let (result, stub) = connect(targetXML: HostileStubTests.coreXML,
                                     then: [.expect("g"), .reply("0100000000000000" + "0800084000000000" + "c5030000")])
        let snapshot = try result.get().readGeneralRegisters()
        #expect(snapshot["x0"] == 1 && snapshot["pc"] == 0x4008_0008 && snapshot["cpsr"] == 0x3C5)
        #expect(stub.finish() == [])
    }

    // MARK: unasked-for data is bounded

    @Test func unclaimedStopRepliesAreCappedAndCounted() throws {
        let extra = 44
        let stops = (0..<GdbConnection.asynchronousStopCapacity + extra).map { ScriptedStub.Step.reply("T05thread:p01.\(String($0 + 1, radix: 16));") }
        let (result, stub) = connect(ScriptedStub.handshake() + [.expect("m0,1")] + stops + [.reply("2a")])
        let client = try result.get()
        #expect(try client.readMemory(at: 0, count: 1) == [0x2A])
        let kept = client.connection.asynchronousStops
        #expect(kept.count == GdbConnection.asynchronousStopCapacity)
        #expect(client.connection.droppedStopCount == extra)
        // The newest are kept: the last one is the last sent.
        #expect(kept.last.map { String(decoding: $0, as: UTF8.self) } == "T05thread:p01.\(String(GdbConnection.asynchronousStopCapacity + extra, radix: 16));")
        #expect(stub.finish() == [])
    }

    @Test func consoleOutputIsCappedAndCounted() throws {
        // Three 400 KiB O packets: 1.2 MiB of output against a 1 MiB cap.
        let chunk = 400 << 10
        let packets = (0..<3).map { i in ScriptedStub.Step.reply("O" + Hex.encode([UInt8](repeating: UInt8(0x41 + i), count: chunk))) }
        let (result, stub) = connect(ScriptedStub.handshake() + [.expect("c")] + packets + [.reply("T05thread:p01.01;")])
        let client = try result.get()
        #expect(try client.continueAndWait(timeout: 30).signal == 5)
        #expect(client.connection.droppedConsoleByteCount == 3 * chunk - GdbConnection.consoleOutputCapacity)
        // The oldest output is the one dropped: what is left starts part-way through the A's.
        let dropped = 3 * chunk - GdbConnection.consoleOutputCapacity
        let expected = String(repeating: "A", count: chunk - dropped) + String(repeating: "B", count: chunk) + String(repeating: "C", count: chunk)
        #expect(client.takeConsoleOutput() == expected)
        #expect(client.takeConsoleOutput().isEmpty)
        #expect(stub.finish() == [])
    }

    @Test func boundedBufferKeepsTheNewestAndCountsTheRest() {
        var buffer = BoundedBuffer<Int>(capacity: 4)
        for i in 0..<10 { buffer.append(i) }
        #expect(buffer.elements == [6, 7, 8, 9])
        #expect(buffer.droppedCount == 6)
        #expect(buffer.popFirst() == 6)
        buffer.append(contentsOf: [10, 11, 12])
        #expect(buffer.take() == [9, 10, 11, 12])
        #expect(buffer.droppedCount == 8)
        #expect(buffer.take() == [] && buffer.popFirst() == nil)
    }
}
