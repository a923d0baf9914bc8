import Foundation

/// Disassembly text from gdb-multiarch and from Capstone (DebugInfo), brought to
/// one spelling so tests compare instructions, not formatting.
public enum GdbDisassemblyText {
    /// gdb's operands, Capstone's operands, in one spelling: numbers in decimal,
    /// no `#`, no `<symbol>` labels, no `// comments`, single spaces.
    public static func normalise(_ text: String) -> String {
        var s = text
        if let comment = s.range(of: "//") { s = String(s[..<comment.lowerBound]) }
        s = s.replacing(/<[^>]*>/, with: "").replacingOccurrences(of: "#", with: "")
        s = s.replacing(/(-?)0x([0-9a-f]+)/) { match in
            let value = UInt64(match.2, radix: 16) ?? 0
            return match.1.isEmpty ? String(value) : "-" + String(value)
        }
        s = s.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        return preferredAlias(s)
    }

    /// Capstone 4 prints `movz`/`movn` where gdb (and the Arm ARM) print the `mov`
    /// alias, and `b.hs`/`b.lo` for gdb's `b.cs`/`b.cc`: both spelt one way.
    public static func preferredAlias(_ text: String) -> String {
        var parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return text }
        let synonyms = ["b.hs": "b.cs", "b.lo": "b.cc"]
        if let same = synonyms[parts[0]] { parts[0] = same }
        // The same synonyms as condition operands (`csel x0, x1, x2, lo`, `cset w8, hs`).
        for (capstone, gdb) in [("lo", "cc"), ("hs", "cs")] where parts[1].hasSuffix(", " + capstone) {
            parts[1] = String(parts[1].dropLast(capstone.count)) + gdb
        }
        // Capstone 4 prints `orr xN, xzr, #imm`; gdb prints its `mov` alias (a bitmask immediate).
        if parts[0] == "orr", parts[1].hasPrefix("x") || parts[1].hasPrefix("w") {
            let operands = parts[1].components(separatedBy: ", ")
            if operands.count == 3, operands[1] == "xzr" || operands[1] == "wzr", UInt64(operands[2]) != nil {
                return "mov \(operands[0]), \(operands[2])"
            }
        }
        if parts[0] == "movz" || parts[0] == "movn" {
            let operands = parts[1].components(separatedBy: ", ")
            let wide = operands[0].hasPrefix("x")
            if operands.count >= 2, let imm = UInt64(operands[1]) {
                var shift: UInt64 = 0
                if operands.count == 3, operands[2].hasPrefix("lsl "), let s = UInt64(operands[2].dropFirst(4)) { shift = s }
                var value = imm << shift
                if parts[0] == "movn" { value = ~value }
                if !wide { value &= 0xffff_ffff }
                return "mov \(operands[0]), \(value)"
            }
        }
        return parts.joined(separator: " ")
    }

    /// The instruction text of one `x/Ni` line (`   0x… <sym+4>:\tstp\tx29, …`), or nil for other lines.
    public static func instruction(inGdbLine line: String) -> String? {
        guard let colon = line.range(of: ":\t") else { return nil }
        return String(line[colon.upperBound...])
    }
}
