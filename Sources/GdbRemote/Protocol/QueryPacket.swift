/// General queries and settings (`q`/`Q` packets outside thread handling).
public enum QueryPacket: Sendable, Equatable {
    /// `qSupported:<feature>;<feature>...`: what the client handles; the reply lists the stub's features.
    case supported(features: [String])
    /// `QStartNoAckMode`: stop exchanging `+`/`-` from the reply on.
    case startNoAckMode
    /// `qXfer:<object>:read:<annex>:<offset>,<length>`: a window of a named object (`features`/`target.xml`).
    case readObject(object: String, annex: String, offset: Int, length: Int)
    /// `qRcmd,<hex of the command>`: a monitor command; its text comes back in `O` packets.
    case monitor(command: String)

    func encode(into out: inout [UInt8]) {
        switch self {
        case .supported(let features):
            Packet.append("qSupported", to: &out)
            for (i, feature) in features.enumerated() {
                out.append(UInt8(ascii: i == 0 ? ":" : ";"))
                Packet.append(feature, to: &out)
            }
        case .startNoAckMode:
            Packet.append("QStartNoAckMode", to: &out)
        case .readObject(let object, let annex, let offset, let length):
            Packet.append("qXfer:", to: &out)
            Packet.append(object, to: &out)
            Packet.append(":read:", to: &out)
            Packet.append(annex, to: &out)
            out.append(UInt8(ascii: ":"))
            Packet.appendNumber(offset, to: &out)
            out.append(UInt8(ascii: ","))
            Packet.appendNumber(length, to: &out)
        case .monitor(let command):
            Packet.append("qRcmd,", to: &out)
            Hex.append(Array(command.utf8), to: &out)
        }
    }

    var expectation: ReplyExpectation {
        if case .monitor = self { return .consoleThenReply }
        return .reply
    }

    /// A monitor command may change the machine; the rest read or set the same thing again.
    var isIdempotent: Bool {
        if case .monitor = self { return false }
        return true
    }
}
