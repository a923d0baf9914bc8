import Testing
@testable import GdbRemote
import TestSupport

@Suite("Codec: framing, checksums, escapes, run-length encoding")
struct CodecTests {
    @Test("checksums of packets from the protocol documentation",
          arguments: [("OK", "$OK#9a"), ("", "$#00"), ("g", "$g#67"), ("?", "$?#3f"), ("c", "$c#63"), ("s", "$s#73"),
                      ("m4015bc,2", "$m4015bc,2#5a")])
    func encodeVectors(body: String, wire: String) {
        #expect(String(decoding: PacketEncoder.packet(body), as: UTF8.self) == wire)
    }

    @Test func escapesReservedBytes() {
        // The docs: 0x7d is sent as 0x7d 0x5d; '#', '$', '*' likewise XOR 0x20.
        let wire = PacketEncoder.packet([0x7D, 0x23, 0x24, 0x2A, 0x41])
        #expect(Array(wire.dropFirst().prefix(9)) == [0x7D, 0x5D, 0x7D, 0x03, 0x7D, 0x04, 0x7D, 0x0A, 0x41])
        #expect(decodeAll(wire) == [.packet(body: [0x7D, 0x23, 0x24, 0x2A, 0x41], checksumValid: true)])
    }

    @Test func runLengthDecoding() {
        // The docs' example: "0* " means "0000".
        #expect(decodeAll(frame("0* ")) == [.packet(body: Array("0000".utf8), checksumValid: true)])
        // 'X*"': '"' is 34, so 34-29 = 5 more X.
        #expect(decodeAll(frame("aX*\"b")) == [.packet(body: Array("aXXXXXXb".utf8), checksumValid: true)])
    }

    @Test func acksNacksInterruptsAndNotifications() {
        let stream = Array("+-".utf8) + [0x03] + PacketEncoder.notification(Array("Stop:T05".utf8)) + PacketEncoder.packet("OK")
        #expect(decodeAll(stream) == [.ack, .nack, .interrupt,
                                      .notification(body: Array("Stop:T05".utf8), checksumValid: true),
                                      .packet(body: Array("OK".utf8), checksumValid: true)])
    }

    @Test func badChecksumIsReportedNotDropped() {
        #expect(decodeAll(Array("$OK#00".utf8)) == [.packet(body: Array("OK".utf8), checksumValid: false)])
        #expect(decodeAll(Array("$OK#zz".utf8)) == [.packet(body: Array("OK".utf8), checksumValid: false)])
    }

    @Test func garbageBetweenPacketsIsCountedAndDropped() {
        var decoder = FrameDecoder()
        let frames = decoder.feed(Array("xyz".utf8) + PacketEncoder.packet("OK") + Array("\r\n".utf8) + PacketEncoder.packet("E14"))
        #expect(frames == [.packet(body: Array("OK".utf8), checksumValid: true), .packet(body: Array("E14".utf8), checksumValid: true)])
        #expect(decoder.discardedByteCount == 5)
    }

    @Test func truncatedPacketIsDroppedWhenANewOneStarts() {
        var decoder = FrameDecoder()
        let frames = decoder.feed(Array("$12345".utf8) + PacketEncoder.packet("OK"))
        #expect(frames == [.packet(body: Array("OK".utf8), checksumValid: true)])
        #expect(decoder.discardedByteCount == 6)
        #expect(!decoder.isInsideFrame)
    }

    @Test func oversizedPacketBecomesOneFrameAndTheStreamRecovers() {
        var decoder = FrameDecoder(maximumBodySize: 16)
        let frames = decoder.feed(PacketEncoder.packet(String(repeating: "a", count: 100)) + PacketEncoder.packet("OK"))
        #expect(frames == [.oversized(limit: 16), .packet(body: Array("OK".utf8), checksumValid: true)])
        let rle = decoder.feed(frame("a*~"))  // 1 + 97 bytes after expansion
        #expect(rle == [.oversized(limit: 16)])
    }

    @Test func byteByByteWholeAndRandomSplitsAgree() {
        var generator = SeededGenerator(seed: 42)
        var stream: [UInt8] = []
        var expected: [Frame] = []
        for i in 0..<200 {
            let body = (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            stream += Array("+".utf8) + PacketEncoder.packet(body)
            expected += [.ack, .packet(body: body, checksumValid: true)]
            if i % 7 == 0 { stream += Array("junk".utf8) }
        }
        #expect(decodeAll(stream) == expected)
        var byteByByte = FrameDecoder(), frames: [Frame] = []
        for b in stream { frames += byteByByte.feed([b]) }
        #expect(frames == expected)
        for _ in 0..<20 {
            var decoder = FrameDecoder(), split: [Frame] = []
            var i = 0
            while i < stream.count {
                let n = Int(generator.next() % 64) + 1
                split += decoder.feed(stream[i..<min(stream.count, i + n)])
                i += n
            }
            #expect(split == expected)
        }
    }

    @Test func runLengthEncoderRoundTripsThroughTheDecoder() {
        var generator = SeededGenerator(seed: 7)
        var compressed = 0
        for _ in 0..<2000 {
            // Bodies with long runs, so the encoder really compresses.
            var body: [UInt8] = []
            let target = Int(generator.next() % 400)
            while body.count < target {
                let byte = UInt8(truncatingIfNeeded: generator.next() % 8 == 0 ? generator.next() : 0x30 + generator.next() % 3)
                body += Array(repeating: byte, count: Int(generator.next() % 120) + 1)
            }
            let escaped = PacketEncoder.escaped(body)
            let encoded = PacketEncoder.runLengthEncoded(escaped)
            if encoded.count < escaped.count { compressed += 1 }
            #expect(decodeAll(PacketEncoder.rawFrame(encoded)) == [.packet(body: body, checksumValid: true)])
        }
        #expect(compressed > 1000)
    }

    @Test("fuzz: 50 000 random and mutated inputs never trap")
    func fuzzNeverTraps() {
        var generator = SeededGenerator(seed: 0xF00D)
        let alphabet: [UInt8] = Array("$#}*+-%0123456789abcdefOKTWX:;".utf8) + [0x03, 0x00, 0xFF]
        var total = 0
        var oversized = 0  // counted, then asserted once: 50 000 rounds of #expect cost more than the decoding
        for round in 0..<50_000 {
            var input: [UInt8]
            if round % 2 == 0 {
                input = (0..<Int(generator.next() % 64)).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            } else {
                input = PacketEncoder.packet((0..<Int(generator.next() % 32)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
                for _ in 0..<3 where !input.isEmpty {
                    input[Int(generator.next() % UInt64(input.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            var decoder = FrameDecoder(maximumBodySize: 40)
            for frame in decoder.feed(input) {
                if case .packet(let body, _) = frame {
                    total += body.count
                    if body.count > 40 { oversized += 1 }
                }
            }
            _ = StopReason(packet: input)
            _ = ThreadID(parsing: Substring(String(decoding: input, as: UTF8.self)))
            _ = Hex.decode(input)
            _ = TargetDescriptionParser.items(in: String(decoding: input, as: UTF8.self))
        }
        #expect(total > 0)
        #expect(oversized == 0, "frames past the decoder's 40-byte limit")
    }

    @Test func hexHelpers() {
        #expect(Hex.decode("00ff7A") == [0x00, 0xFF, 0x7A])
        #expect(Hex.decode("0") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.encode([0xDE, 0xAD]) == "dead")
        #expect(Hex.number("ffff000040000000") == 0xFFFF_0000_4000_0000)
        #expect(Hex.number("1ffff000040000000") == nil)
        #expect(Hex.littleEndianValue([0x78, 0x56, 0x34, 0x12]) == 0x1234_5678)
    }

    private func frame(_ escapedBody: String) -> [UInt8] { PacketEncoder.rawFrame(Array(escapedBody.utf8)) }

    private func decodeAll<C: Collection>(_ bytes: C) -> [Frame] where C.Element == UInt8 {
        var decoder = FrameDecoder()
        return decoder.feed(bytes)
    }
}
