// libFuzzer harness for GdbRemote's parsers (built by scripts/fuzz-gdbremote.sh,
// compiled together with Sources/GdbRemote as one module). Every input goes
// through the frame decoder (whole and split at a point the input chooses) and
// every packet-family parser; inputs whose first byte has the top bit set also
// drive a whole client session (handshake included). Any trap or sanitizer
// report is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGdbRemote(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    if bytes[0] & 0x80 != 0 {
        fuzzSession(replies: bytes.dropFirst())
    } else {
        fuzzCodec(bytes)
    }
    return 0
}

/// The frame decoder and each packet parser, on the raw input.
private func fuzzCodec(_ bytes: [UInt8]) {
    // Split point and decoder limit come from the input, so libFuzzer explores them too.
    let split = Int(bytes[0]) % (bytes.count + 1)
    var decoder = FrameDecoder(maximumBodySize: 1 + Int(bytes[0]) * 4)
    var frames = decoder.feed(bytes[..<split])
    frames += decoder.feed(bytes[split...])
    var whole = FrameDecoder(maximumBodySize: 1 + Int(bytes[0]) * 4)
    precondition(whole.feed(bytes) == frames, "split decoding differs from whole decoding")
    for frame in frames {
        guard case .packet(let body, _) = frame else { continue }
        _ = StopReason(packet: body)
        _ = Hex.decode(body)
        _ = Hex.number(body.prefix(20))
        let text = String(decoding: body, as: UTF8.self)
        fuzzHandshakeParsers(text)
        _ = ThreadID(parsing: Substring(text))
        // Whatever decoded must re-encode to a frame that decodes to the same body.
        var again = FrameDecoder(maximumBodySize: 1 << 20)
        precondition(again.feed(PacketEncoder.packet(body)) == [.packet(body: body, checksumValid: true)], "round trip failed")
    }
}

/// The parsers of what a stub says while a client connects: qSupported, target.xml
/// (with includes: `<xi:include href="N">` fetches the N-th line of the text),
/// qqemu.sstep.
private func fuzzHandshakeParsers(_ text: String) {
    let features = StubFeatures(reply: text)
    precondition(StubFeatures.acceptedPacketSizes.contains(features.packetSize), "PacketSize escaped its clamp")
    _ = QEMUAdapter.SingleStepFlags(reply: text)
    let documents = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    do throws(GdbError) {
        let map = try TargetDescriptionParser.registerMap(root: "0") { (annex) throws(GdbError) -> String in
            guard let i = Int(annex), documents.indices.contains(i) else {
                throw GdbError(.unsupported, operation: "read target description")
            }
            return documents[i]
        }
        for register in map.registers {
            precondition(TargetDescriptionParser.registerNumbers.contains(register.number), "regnum escaped its range")
            precondition(TargetDescriptionParser.bitSizes.contains(register.bitSize), "bitsize escaped its range")
        }
        _ = map.generalRegisterLayout(byteCount: text.utf8.count)
    } catch {
        precondition(!error.description.contains("\n"), "multi-line error")
    }
}

/// A whole client session against a stub whose replies (one per line of the input,
/// framed with valid checksums) are all written before the client starts; after
/// the last one the stub hangs up, so nothing waits for a deadline.
private func fuzzSession(replies: ArraySlice<UInt8>) {
    let (clientEnd, stubEnd) = InMemoryTransport.pair()
    var script: [UInt8] = []
    for body in replies.split(separator: 0x0A, omittingEmptySubsequences: false) {
        script += PacketEncoder.packet(Array(body))
    }
    try? stubEnd.write(script, deadline: .after(seconds: 1))
    stubEnd.closeWriting()
    defer { clientEnd.close() }
    do throws(GdbError) {
        let client = try GdbClient(transport: clientEnd, timeout: 1)
        _ = try? client.readRegister("pc")
        _ = try? client.readGeneralRegisters()
        _ = try? client.qemu.singleStepFlags()
        _ = try? client.threads()
        _ = try? client.readMemory(at: 0x1000, count: 8)
        _ = try? client.monitor("info version")
        _ = client.takeConsoleOutput()
    } catch {
        precondition(!error.description.contains("\n"), "multi-line error")
    }
}
