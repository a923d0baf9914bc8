/// What the stub announced in its `qSupported` reply.
public struct StubFeatures: Sendable, Equatable {
    /// `PacketSize=` (hex): the largest packet the stub accepts. 400 if absent (the protocol default).
    public var packetSize: Int
    /// Every `name+`, `name-`, `name=value` entry, in order.
    public var entries: [String: String]

    /// Parses `PacketSize=1000;qXfer:features:read+;...`.
    public init(reply: String) {
        var entries: [String: String] = [:]
        for item in reply.split(separator: ";") {
            if let eq = item.firstIndex(of: "=") {
                entries[String(item[..<eq])] = String(item[item.index(after: eq)...])
            } else if item.hasSuffix("+") || item.hasSuffix("-") || item.hasSuffix("?") {
                entries[String(item.dropLast())] = String(item.last!)
            } else {
                entries[String(item)] = "+"
            }
        }
        self.entries = entries
        let size = entries["PacketSize"].flatMap { Hex.number(Substring($0)) }.map { Int($0) } ?? 0x400
        self.packetSize = max(64, min(size, 1 << 20))
    }

    /// True if the feature was announced with `+`.
    public func supports(_ name: String) -> Bool { entries[name] == "+" }
}
