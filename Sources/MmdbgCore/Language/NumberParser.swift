/// Parses the integer literals of the command language.
///
/// `0x`/`0X` hex, `0b` binary, `0o` octal, plain decimal; `_` and `'` may
/// separate digit groups (`0xffff_0000_4020_0000`). A leading `-` gives the
/// two's-complement 64-bit value (`-1` = 0xffff_ffff_ffff_ffff).
public enum NumberParser {
    /// The value of `text`, or nil if it is not a number of the language.
    public static func parse(_ text: String) -> UInt64? {
        var s = Substring(text)
        var negative = false
        if s.hasPrefix("-") { negative = true; s = s.dropFirst() }
        var radix = 10
        let lower = s.lowercased()
        if lower.hasPrefix("0x") { radix = 16; s = s.dropFirst(2) }
        else if lower.hasPrefix("0b") { radix = 2; s = s.dropFirst(2) }
        else if lower.hasPrefix("0o") { radix = 8; s = s.dropFirst(2) }
        let digits = s.filter { $0 != "_" && $0 != "'" }
        guard !digits.isEmpty, let magnitude = UInt64(digits, radix: radix) else { return nil }
        return negative ? (~magnitude &+ 1) : magnitude
    }

    /// True when the text starts like a number (so a parse failure is a bad
    /// number rather than an unknown symbol).
    public static func looksNumeric(_ text: String) -> Bool {
        guard let first = text.first else { return false }
        return first.isNumber || (first == "-" && text.dropFirst().first?.isNumber == true)
    }
}
