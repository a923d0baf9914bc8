/// The last packets exchanged, oldest first, for error reports and the REPL
/// (`-> ` sent, `<- ` received). Bodies are clipped so a megabyte read costs nothing.
struct PacketRing: Sendable {
    private var entries: [String] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int = 32) { self.capacity = capacity }

    mutating func record(sent body: [UInt8]) { record("-> ", body) }
    mutating func record(received body: [UInt8]) { record("<- ", body) }
    mutating func note(_ text: String) { append(text) }

    private mutating func record(_ prefix: String, _ body: [UInt8]) {
        let clipped = body.prefix(60)
        var text = prefix + String(decoding: clipped.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
        if body.count > 60 { text += "...(\(body.count) bytes)" }
        append(text)
    }

    private mutating func append(_ text: String) {
        if entries.count < capacity { entries.append(text) } else { entries[next] = text }
        next = (next + 1) % capacity
    }

    /// Oldest first.
    var snapshot: [String] {
        entries.count < capacity ? entries : Array(entries[next...] + entries[..<next])
    }
}
