import Testing
import Foundation
@testable import GdbRemote
import TestSupport

/// Whatever a stub sends, the client answers with a value or a one-line
/// GdbError: never a trap, never a hang. The fuzz stub answers each request
/// either plausibly or with random protocol fragments, then hangs up.
@Suite("Connection fuzz: a stub that answers at random")
struct ConnectionFuzzTests {
    @Test("300 random sessions never trap or hang")
    func randomStubAnswers() throws {
        var outcomes = (succeeded: 0, failed: 0)
        for seed in 0..<300 {
            let (clientEnd, stubEnd) = InMemoryTransport.pair()
            let stub = Thread { var fuzz = FuzzStub(transport: stubEnd, seed: UInt64(seed)); fuzz.run() }
            stub.start()
            do throws(GdbError) {
                let client = try GdbClient(transport: clientEnd, timeout: 0.02)
                client.memoryReadChunkSize = 2
                _ = try client.readMemory(at: 0x1000, count: 4)
                _ = try client.continueAndWait(timeout: 0.02)
                outcomes.succeeded += 1
            } catch {
                expectOneLine(error)
                outcomes.failed += 1
            }
            clientEnd.close()
        }
        #expect(outcomes.succeeded > 0 && outcomes.failed > 0, "succeeded/failed: \(outcomes)")
    }

    /// The handshake parsers (qSupported, target.xml, qqemu.Supported) and the
    /// replies that depend on what they learnt (p, g, qqemu.sstep, thread lists)
    /// against a stub that answers them with hostile numbers and sizes.
    @Test("300 random hostile handshakes never trap or hang")
    func randomHostileHandshakes() throws {
        var connected = 0, refused = 0, operations = (succeeded: 0, failed: 0)
        for seed in 0..<300 {
            let (clientEnd, stubEnd) = InMemoryTransport.pair()
            let stub = Thread { var fuzz = FuzzStub(transport: stubEnd, seed: UInt64(seed) &+ 1_000_000, hostile: true); fuzz.run() }
            stub.start()
            defer { clientEnd.close() }
            let client: GdbClient
            do throws(GdbError) { client = try GdbClient(transport: clientEnd, timeout: 0.02) } catch {
                expectOneLine(error)
                refused += 1
                continue
            }
            connected += 1
            // Each operation on its own: a failure of one still lets the next parse its reply.
            for operation in Operation.allCases where client.state == .stopped {
                do throws(GdbError) { try operation.run(on: client); operations.succeeded += 1 } catch {
                    expectOneLine(error)
                    operations.failed += 1
                }
            }
        }
        #expect(connected > 0 && refused > 0, "connected/refused: \(connected)/\(refused)")
        #expect(operations.succeeded > 0 && operations.failed > 0, "operations: \(operations)")
    }

    /// What each hostile session tries after connecting (each on its own: a failure of
    /// one still lets the next parse its reply).
    private enum Operation: CaseIterable {
        case readRegister, readGeneralRegisters, singleStepFlags, threads, readMemory

        func run(on client: GdbClient) throws(GdbError) {
            switch self {
            case .readRegister: _ = try client.readRegister("pc")
            case .readGeneralRegisters: _ = try client.readGeneralRegisters()
            case .singleStepFlags: _ = try client.qemu.singleStepFlags()
            case .threads: _ = try client.threads()
            case .readMemory: _ = try client.readMemory(at: 0x1000, count: 4)
            }
        }
    }

    private func expectOneLine(_ error: GdbError, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!error.description.isEmpty && !error.description.contains("\n"), "\(error)", sourceLocation: sourceLocation)
    }
}

/// Answers each packet: usually what a stub would say, sometimes random
/// fragments (bad checksums, stray acks, stop replies, console output, garbage).
private struct FuzzStub {
    let transport: InMemoryTransport
    var generator: SeededGenerator

    /// Whether plausible replies are replaced, half the time, by hostile variants (`hostileReplies`).
    let hostile: Bool

    init(transport: InMemoryTransport, seed: UInt64, hostile: Bool = false) {
        self.transport = transport
        self.generator = SeededGenerator(seed: seed)
        self.hostile = hostile
    }

    /// Replies a stub could send but no sane one would, by request prefix.
    static let hostileReplies: [(prefix: String, replies: [String])] = [
        ("qSupported", ["PacketSize=ffffffffffffffff;qXfer:features:read+", "PacketSize=0;qXfer:features:read+", "PacketSize=-1",
                        "PacketSize=;+;-;?;;=;qXfer:features:read+", "PacketSize=10000000000000000;multiprocess+;qXfer:features:read+"]),
        ("qXfer:features:read:", [
            #"l<reg name="pc" regnum="9223372036854775807"/>"#, #"l<reg name="pc" bitsize="9223372036854775807"/>"#,
            #"l<reg name="pc" bitsize="0"/>"#, #"l<reg name="pc" regnum="-5" bitsize="64"/>"#, "m", "m<reg",
            #"l<xi:include href="a.xml"/><xi:include href="b.xml"/>"#, #"m<reg name="x" bitsize="2048" regnum="65535"/><reg name="y"/>"#,
            #"l<reg name="pc" bitsize="7"/><reg name="x0" bitsize="13"/>"#, "l<reg name=\"pc\" bitsize=\"64\"", "l<<<>>>",
        ]),
        ("qqemu.Supported", ["sstepbits;sstep;PhyMemMode", "PhyMemMode", ";;;"]),
        ("qqemu.sstep", ["ffffffffffffffff", "0x", "0x8000000000000000", "-1", "7", "1\n2\r\u{2028}" + String(repeating: "z", count: 3000)]),
        ("p", ["0", "000", "00112233445566778899", "zz", "E", "Effff"]),
        ("g", ["0", "00", "0011223344556677889", String(repeating: "ab", count: 300)]),
        ("qfThreadInfo", ["m", "mp", "mp-2.ffffffffffffffffff", "m-1,-2,p1.,p.1", "mffffffffffffffff", "x", "m1,\n2"]),
        ("qsThreadInfo", ["m1", "l", "lp1.1"]),
        ("m", ["0", "abc", "E", "Ezz", "E123"]),
    ]

    static let fragments: [[UInt8]] = [
        Array("+".utf8), Array("-".utf8), [0x03], Array("$".utf8), Array("#".utf8), Array("}".utf8), Array("*".utf8),
        PacketEncoder.packet("OK"), PacketEncoder.packet("E14"), PacketEncoder.packet(""), PacketEncoder.packet("T05thread:p01.01;"),
        PacketEncoder.packet("W00"), PacketEncoder.packet("O48690a"), PacketEncoder.packet("0011"), PacketEncoder.packet("zz"),
        Array("$00#zz".utf8), Array("garbage".utf8), PacketEncoder.packet(String(repeating: "0", count: 5000)),
    ]

    mutating func run() {
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var answered = 0
        while answered < (hostile ? 24 : 12) {
            let n: Int? = buffer.withUnsafeMutableBytes { raw in
                do throws(TransportError) { return try transport.read(into: raw, deadline: .after(seconds: 2)) } catch { return nil }
            }
            guard let n else { break }
            for frame in decoder.feed(buffer[0..<n]) {
                guard case .packet(let body, _) = frame else { continue }
                answered += 1
                var out: [UInt8] = Array("+".utf8)
                if generator.next() % 4 == 0 {
                    for _ in 0..<Int(generator.next() % 4) + 1 { out += FuzzStub.fragments[Int(generator.next() % UInt64(FuzzStub.fragments.count))] }
                } else {
                    let request = String(decoding: body, as: UTF8.self)
                    let hostileChoices = hostile ? FuzzStub.hostileReplies.first { request.hasPrefix($0.prefix) }?.replies : nil
                    if let hostileChoices, generator.next() % 2 == 0 {
                        out += PacketEncoder.packet(hostileChoices[Int(generator.next() % UInt64(hostileChoices.count))])
                    } else {
                        out += PacketEncoder.packet(plausibleReply(to: request))
                    }
                }
                try? transport.write(out, deadline: .after(seconds: 1))
            }
        }
        transport.close()
    }

    func plausibleReply(to request: String) -> String {
        if request.hasPrefix("qSupported") { return hostile ? "PacketSize=1000;qXfer:features:read+" : "PacketSize=1000" }
        if request.hasPrefix("qXfer:features:read:") {
            return #"l<target><reg name="x0" bitsize="64"/><reg name="pc" bitsize="64" regnum="32"/><reg name="cpsr" bitsize="32"/></target>"#
        }
        if request.hasPrefix("p") { return "0001084000000000" }
        if request == "g" { return "0100000000000000" }
        if request == "qqemu.sstep" { return "7" }
        if request == "qfThreadInfo" { return "mp01.01,p01.02" }
        if request == "qsThreadInfo" { return "l" }
        if request == "qqemu.Supported" { return "" }
        if request == "vCont?" { return "vCont;c;C;s;S" }
        if request.hasPrefix("m"), let n = request.split(separator: ",").last.flatMap({ Int($0, radix: 16) }) {
            return String(repeating: "ab", count: n)
        }
        if request == "c" || request == "s" { return "T05thread:p01.01;" }
        return "OK"
    }
}
