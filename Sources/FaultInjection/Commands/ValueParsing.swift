import MmdbgCore

/// Values in fault commands: address expressions (`0x10`, `map_page+4`,
/// `$x30`) plus a leading minus for return codes (`-1` is 0xffff…ffff).
enum ValueParsing {
    static func value(_ text: String, _ session: Session) throws(CommandError) -> UInt64 {
        if text.hasPrefix("-") { return 0 &- (try session.evaluate(String(text.dropFirst()))) }
        return try session.evaluate(text)
    }

    static func count(_ text: String?, option: String, _ args: CommandArguments) throws(CommandError) -> Int? {
        guard let text else { return nil }
        guard let value = NumberParser.parse(text), value >= 1, value <= 1_000_000_000 else {
            throw args.usageError("--\(option) must be a whole number ≥ 1")
        }
        return Int(value)
    }

    /// `NAME=VALUE` (split at the first `=`).
    static func assignment(_ text: String, option: String, _ args: CommandArguments) throws(CommandError) -> (String, String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw args.usageError("--\(option) wants NAME=VALUE, got \"\(text)\"")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }
}
