/// Builds the bytes that go on the wire. No I/O.
public enum PacketEncoder {
    /// The modulo-256 sum the protocol uses as a checksum.
    public static func checksum<C: Sequence>(_ bytes: C) -> UInt8 where C.Element == UInt8 {
        bytes.reduce(0, &+)
    }

    /// `$body#cs` with `#`, `$`, `}` and `*` escaped as `}` + (byte ^ 0x20).
    public static func packet<C: Collection>(_ body: C) -> [UInt8] where C.Element == UInt8 {
        frame(start: UInt8(ascii: "$"), body: body)
    }

    /// `$text#cs`.
    public static func packet(_ text: String) -> [UInt8] { packet(Array(text.utf8)) }

    /// `%body#cs` (stubs send these; the mock stub uses it).
    public static func notification<C: Collection>(_ body: C) -> [UInt8] where C.Element == UInt8 {
        frame(start: UInt8(ascii: "%"), body: body)
    }

    /// The escaped form of binary data, without framing.
    public static func escaped<C: Collection>(_ data: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 8)
        for b in data {
            if needsEscape(b) { out.append(UInt8(ascii: "}")); out.append(b ^ 0x20) } else { out.append(b) }
        }
        return out
    }

    /// Run-length encodes an already escaped body the way stubs may: runs of 4 or
    /// more equal bytes become `X*n`, avoiding counts that would produce `#` or `$`
    /// (and `+`/`-`, which some readers confuse with acks).
    public static func runLengthEncoded(_ escapedBody: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < escapedBody.count {
            let b = escapedBody[i]
            var run = 1
            while i + run < escapedBody.count, escapedBody[i + run] == b, run < 98 { run += 1 }
            // Never repeat an escape character or an escaped byte's prefix.
            if run >= 4, b != UInt8(ascii: "}"), !(i > 0 && escapedBody[i - 1] == UInt8(ascii: "}")) {
                var extra = run - 1
                while [UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains(UInt8(extra + 29)) { extra -= 1 }
                out.append(b)
                out.append(UInt8(ascii: "*"))
                out.append(UInt8(extra + 29))
                i += extra + 1
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    /// Frames a body that is already escaped (and possibly run-length encoded).
    public static func rawFrame(_ escapedBody: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "$")]
        out += escapedBody
        appendChecksum(checksum(escapedBody), to: &out)
        return out
    }

    /// True for the bytes the protocol reserves inside a packet.
    @inline(__always) public static func needsEscape(_ b: UInt8) -> Bool {
        b == UInt8(ascii: "#") || b == UInt8(ascii: "$") || b == UInt8(ascii: "}") || b == UInt8(ascii: "*")
    }

    private static func frame<C: Collection>(start: UInt8, body: C) -> [UInt8] where C.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 4)
        out.append(start)
        var sum: UInt8 = 0
        for b in body {
            if needsEscape(b) {
                out.append(UInt8(ascii: "}")); out.append(b ^ 0x20)
                sum &+= UInt8(ascii: "}") &+ (b ^ 0x20)
            } else {
                out.append(b)
                sum &+= b
            }
        }
        appendChecksum(sum, to: &out)
        return out
    }

    /// Appends `#` and the two checksum digits.
    static func appendChecksum(_ sum: UInt8, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "#"))
        out.append(Hex.digits[Int(sum >> 4)])
        out.append(Hex.digits[Int(sum & 0xF)])
    }
}
