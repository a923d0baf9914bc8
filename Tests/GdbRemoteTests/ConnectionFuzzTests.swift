import Testing
import Foundation
@testable import GdbRemote

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
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
                outcomes.failed += 1
            }
            clientEnd.close()
        }
        #expect(outcomes.succeeded > 0 && outcomes.failed > 0, "succeeded/failed: \(outcomes)")
    }
}

/// Answers each packet: usually what a stub would say, sometimes random
/// fragments (bad checksums, stray acks, stop replies, console output, garbage).
private struct FuzzStub {
    let transport: InMemoryTransport
    var generator: SplitMix64

    init(transport: InMemoryTransport, seed: UInt64) {
        self.transport = transport
        self.generator = SplitMix64(seed: seed)
    }

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
        while answered < 12 {
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
                    out += PacketEncoder.packet(plausibleReply(to: String(decoding: body, as: UTF8.self)))
                }
                try? transport.write(out, deadline: .after(seconds: 1))
            }
        }
        transport.close()
    }

    func plausibleReply(to request: String) -> String {
        if request.hasPrefix("qSupported") { return "PacketSize=1000" }
        if request == "vCont?" { return "vCont;c;C;s;S" }
        if request.hasPrefix("m"), let n = request.split(separator: ",").last.flatMap({ Int($0, radix: 16) }) {
            return String(repeating: "ab", count: n)
        }
        if request == "c" || request == "s" { return "T05thread:p01.01;" }
        return "OK"
    }
}
