// libFuzzer harness for GdbRemote's parsers (built by scripts/fuzz-gdbremote.sh,
// compiled together with Sources/GdbRemote as one module). Every input goes
// through the frame decoder (whole and split at a point the input chooses) and
// every packet-family parser; any trap or sanitizer report is a bug.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGdbRemote(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start, count > 0 else { return 0 }
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
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
        _ = StubFeatures(reply: String(decoding: body, as: UTF8.self))
        _ = Hex.decode(body)
        _ = Hex.number(body.prefix(20))
        let text = String(decoding: body, as: UTF8.self)
        _ = ThreadID(parsing: Substring(text))
        _ = TargetDescriptionParser.items(in: text)
        // Whatever decoded must re-encode to a frame that decodes to the same body.
        var again = FrameDecoder(maximumBodySize: 1 << 20)
        precondition(again.feed(PacketEncoder.packet(body)) == [.packet(body: body, checksumValid: true)], "round trip failed")
    }
    return 0
}
