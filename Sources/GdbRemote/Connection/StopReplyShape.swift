/// Recognises stop-reply packets (`S`, `T`, `W`, `X`) without fully parsing
/// them, so the connection can tell an asynchronous stop from the reply to a
/// request. Strict on purpose: `Text=...` (a `qOffsets` reply) is not a stop.
enum StopReplyShape {
    static func matches(_ body: [UInt8]) -> Bool {
        guard let first = body.first else { return false }
        switch first {
        case UInt8(ascii: "S"):
            return body.count == 3 && isHex(body[1]) && isHex(body[2])
        case UInt8(ascii: "T"):
            guard body.count >= 3, isHex(body[1]), isHex(body[2]) else { return false }
            // Either nothing more, or `name:value;` pairs.
            return body.count == 3 || (body.dropFirst(3).contains(UInt8(ascii: ":")) && body.last == UInt8(ascii: ";"))
        case UInt8(ascii: "W"), UInt8(ascii: "X"):
            guard body.count >= 2 else { return false }
            let code = body.dropFirst().prefix { $0 != UInt8(ascii: ";") }
            return !code.isEmpty && code.allSatisfy(isHex)
        default:
            return false
        }
    }

    /// True for `W` and `X`: the process is gone.
    static func isExit(_ body: [UInt8]) -> Bool {
        body.first == UInt8(ascii: "W") || body.first == UInt8(ascii: "X")
    }

    /// `O` followed by hex text (console output); `OK` is not.
    static func isConsoleOutput(_ body: [UInt8]) -> Bool {
        body.count >= 3 && body[0] == UInt8(ascii: "O") && body.count % 2 == 1 && body.dropFirst().allSatisfy(isHex)
    }

    private static func isHex(_ c: UInt8) -> Bool { Hex.nibble(c) != nil }
}
