/// Breakpoints and watchpoints. Not idempotent: a stub may count insertions.
public enum BreakpointPacket: Sendable, Equatable {
    /// `Z<kind>,<address>,<length>`.
    case insert(BreakpointKind, address: UInt64, length: Int)
    /// `z<kind>,<address>,<length>`.
    case remove(BreakpointKind, address: UInt64, length: Int)

    func encode(into out: inout [UInt8]) {
        let (letter, kind, address, length): (UInt8, BreakpointKind, UInt64, Int)
        switch self {
        case .insert(let k, let a, let l): (letter, kind, address, length) = (UInt8(ascii: "Z"), k, a, l)
        case .remove(let k, let a, let l): (letter, kind, address, length) = (UInt8(ascii: "z"), k, a, l)
        }
        out.append(letter)
        Packet.appendNumber(kind.rawValue, to: &out)
        out.append(UInt8(ascii: ","))
        Hex.appendNumber(address, to: &out)
        out.append(UInt8(ascii: ","))
        Packet.appendNumber(length, to: &out)
    }
}
