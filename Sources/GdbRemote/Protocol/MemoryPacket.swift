/// Memory access. Addresses are the stub's (virtual, or physical in QEMU's
/// physical-memory mode).
public enum MemoryPacket: Sendable, Equatable {
    /// `m<address>,<count>`: the reply is `count` bytes in hex. The hot packet of a
    /// bulk read (pipelined 32 at a time): encoded without any String.
    case read(address: UInt64, count: Int)
    /// `M<address>,<count>:<hex bytes>`.
    case write(address: UInt64, bytes: [UInt8])
    /// `X<address>,<count>:<bytes>`: binary, with `#`, `$`, `}` and `*` escaped (half
    /// the size of `M`). The client writes with `M`, which every stub has.
    case writeBinary(address: UInt64, bytes: [UInt8])

    func encode(into out: inout [UInt8]) {
        switch self {
        case .read(let address, let count):
            out.append(UInt8(ascii: "m"))
            Hex.appendNumber(address, to: &out)
            out.append(UInt8(ascii: ","))
            Packet.appendNumber(count, to: &out)
        case .write(let address, let bytes):
            out.reserveCapacity(out.count + 24 + 2 * bytes.count)
            out.append(UInt8(ascii: "M"))
            Hex.appendNumber(address, to: &out)
            out.append(UInt8(ascii: ","))
            Packet.appendNumber(bytes.count, to: &out)
            out.append(UInt8(ascii: ":"))
            Hex.append(bytes, to: &out)
        case .writeBinary(let address, let bytes):
            out.reserveCapacity(out.count + 24 + bytes.count + bytes.count / 8)
            out.append(UInt8(ascii: "X"))
            Hex.appendNumber(address, to: &out)
            out.append(UInt8(ascii: ","))
            Packet.appendNumber(bytes.count, to: &out)
            out.append(UInt8(ascii: ":"))
            Packet.appendEscaped(bytes, to: &out)
        }
    }
}
