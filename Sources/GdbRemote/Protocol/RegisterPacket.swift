/// Register access. Numbers are the target description's `regnum`; values are
/// target-order bytes.
public enum RegisterPacket: Sendable, Equatable {
    /// `p<number>`: one register.
    case read(number: Int)
    /// `P<number>=<hex value>`.
    case write(number: Int, value: [UInt8])
    /// `g`: the general registers, in number order.
    case readGeneral
    /// `G<hex values>`: the general registers, in number order.
    case writeGeneral(values: [UInt8])

    func encode(into out: inout [UInt8]) {
        switch self {
        case .read(let number):
            out.append(UInt8(ascii: "p"))
            Packet.appendNumber(number, to: &out)
        case .write(let number, let value):
            out.append(UInt8(ascii: "P"))
            Packet.appendNumber(number, to: &out)
            out.append(UInt8(ascii: "="))
            Hex.append(value, to: &out)
        case .readGeneral:
            out.append(UInt8(ascii: "g"))
        case .writeGeneral(let values):
            out.append(UInt8(ascii: "G"))
            Hex.append(values, to: &out)
        }
    }
}
