/// What the stub announced in its `qSupported` reply.
public struct StubFeatures: Sendable, Equatable {
    /// `PacketSize=` (hex): the largest packet the stub accepts. 400 if absent (the protocol default);
    /// clamped to `acceptedPacketSizes` (a stub may announce anything up to 2^64-1).
    public var packetSize: Int
    /// The packet sizes the client honours: below 64 nothing useful fits; above 1 MiB
    /// the stub's claim is not worth the client's buffers.
    public static let acceptedPacketSizes: ClosedRange<Int> = 64...(1 << 20)
    /// Every `name+`, `name-`, `name=value` entry, in order.
    public var entries: [String: String]

    /// Parses `PacketSize=1000;qXfer:features:read+;...`.
    public init(reply: String) {
        var entries: [String: String] = [:]
        for item in reply.split(separator: ";") {
            if let eq = item.firstIndex(of: "=") {
                entries[String(item[..<eq])] = String(item[item.index(after: eq)...])
            } else if let mark = item.last, mark == "+" || mark == "-" || mark == "?" {
                entries[String(item.dropLast())] = String(mark)
            } else {
                entries[String(item)] = "+"
            }
        }
        self.entries = entries
        // Compared as UInt64 so that a size beyond Int.max clamps instead of trapping.
        let announced = entries["PacketSize"].flatMap { Hex.number(Substring($0)) } ?? 0x400
        let range = StubFeatures.acceptedPacketSizes
        self.packetSize = Int(min(max(announced, UInt64(range.lowerBound)), UInt64(range.upperBound)))
    }

    /// True if the feature was announced with `+`.
    public func supports(_ name: String) -> Bool { entries[name] == "+" }
}
