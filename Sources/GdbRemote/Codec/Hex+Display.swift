extension Hex {
    /// `0x…` lower-case hex without padding: the one form messages, traces,
    /// text output and JSON use for addresses and 64-bit values.
    public static func format(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

    /// `0x…` zero-padded to `digits` hex digits (table columns).
    public static func padded(_ value: UInt64, digits: Int = 16) -> String {
        let s = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - s.count)) + s
    }
}
