/// Hex encoding as the remote protocol uses it: lower-case pairs, target byte
/// order for register values. Table driven because megabytes of memory pass
/// through here.
public enum Hex {
    /// The sixteen lower-case digits, by value.
    static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// 0-15 for a hex digit, 0xFF otherwise.
    @usableFromInline static let nibbleTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "0123456789abcdef".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        for (i, c) in "ABCDEF".utf8.enumerated() { table[Int(c)] = UInt8(10 + i) }
        return table
    }()

    /// The value of one hex digit, or nil.
    @inlinable public static func nibble(_ c: UInt8) -> UInt8? {
        let v = nibbleTable[Int(c)]
        return v == 0xFF ? nil : v
    }

    /// Appends the hex text of `bytes` to `out`.
    public static func append<C: Collection>(_ bytes: C, to out: inout [UInt8]) where C.Element == UInt8 {
        out.reserveCapacity(out.count + bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
    }

    /// Appends `value` in hex without leading zeros (`0` for zero), as addresses,
    /// lengths and register numbers are written in packets. No String involved:
    /// thousands of `m` packets per megabyte are built with it.
    public static func appendNumber(_ value: UInt64, to out: inout [UInt8]) {
        var started = false
        for shift in stride(from: 60, through: 0, by: -4) {
            let nibble = Int((value >> UInt64(shift)) & 0xF)
            if nibble != 0 || started || shift == 0 {
                out.append(digits[nibble])
                started = true
            }
        }
    }

    /// Hex text of `bytes` as a String.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out: [UInt8] = []
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex pairs; nil if the length is odd or a character is not hex.
    public static func decode<C: Collection>(_ text: C) -> [UInt8]? where C.Element == UInt8 {
        guard text.count % 2 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: text.count / 2)
        var bad: UInt8 = 0
        let ok: Bool = out.withUnsafeMutableBufferPointer { dst in
            nibbleTable.withUnsafeBufferPointer { table in
                var i = 0
                var high: UInt8 = 0
                var first = true
                for c in text {
                    let v = table[Int(c)]
                    bad |= v & 0xF0
                    if first { high = v } else { dst[i] = (high << 4) | (v & 0xF); i += 1 }
                    first.toggle()
                }
                return true
            }
        }
        return ok && bad == 0 ? out : nil
    }

    /// Decodes hex text into exactly `destination.count` bytes; false if not hex or the wrong length.
    /// Memory replies are decoded straight into the caller's buffer with it.
    static func decode(_ text: [UInt8], into destination: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        guard text.count == destination.count * 2 else { return false }
        var bad: UInt8 = 0
        text.withUnsafeBufferPointer { src in
            nibbleTable.withUnsafeBufferPointer { table in
                for i in 0..<destination.count {
                    let h = table[Int(src[2 * i])], l = table[Int(src[2 * i + 1])]
                    bad |= (h | l) & 0xF0
                    destination[i] = (h << 4) | (l & 0xF)
                }
            }
        }
        return bad == 0
    }

    /// Decodes hex text given as a String.
    public static func decode(_ text: String) -> [UInt8]? { decode(Array(text.utf8)) }

    /// Parses an unsigned big-endian hex number (as in addresses and lengths); nil if empty, not hex or over 64 bits.
    public static func number<C: Collection>(_ text: C) -> UInt64? where C.Element == UInt8 {
        guard !text.isEmpty, text.count <= 16 else { return nil }
        var value: UInt64 = 0
        for c in text {
            guard let n = nibble(c) else { return nil }
            value = value << 4 | UInt64(n)
        }
        return value
    }

    /// Parses a number from a String.
    public static func number(_ text: Substring) -> UInt64? { number(Array(text.utf8)) }

    /// A little-endian unsigned integer from target-order bytes (at most 8 used).
    public static func littleEndianValue<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var value: UInt64 = 0
        for (i, b) in bytes.prefix(8).enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        return value
    }

    /// `count` little-endian bytes of `value`.
    public static func littleEndianBytes(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { i in i < 8 ? UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) : 0 }
    }
}
