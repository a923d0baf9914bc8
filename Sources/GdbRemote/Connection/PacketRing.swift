/// The last packets exchanged, oldest first, attached to every protocol error (`GdbError.recentPackets`)
/// (`-> ` sent, `<- ` received). Recording copies at most 60 bytes into
/// preallocated storage, so a megabyte read through it costs no allocations;
/// text is only made when someone asks.
struct PacketRing: Sendable {
    private static let clip = 60
    private enum Entry: Sendable {
        case packet(sent: Bool, length: Int, storedCount: Int)
        case note(String)
    }

    let capacity: Int
    private var storage: [UInt8]
    private var entries: [Entry]
    private var next = 0
    private var count = 0

    init(capacity: Int = 32) {
        self.capacity = capacity
        self.storage = [UInt8](repeating: 0, count: capacity * PacketRing.clip)
        self.entries = [Entry](repeating: .note(""), count: capacity)
    }

    mutating func record(received body: [UInt8]) { body.withUnsafeBufferPointer { record($0, sent: false) } }

    /// Records the body of a framed packet (`$body#cs`) as sent: what went on the wire.
    mutating func record(sentFrame frame: [UInt8]) {
        frame.withUnsafeBufferPointer { buffer in
            let body = buffer.count >= 4 ? UnsafeBufferPointer(rebasing: buffer[1..<buffer.count - 3]) : buffer
            record(body, sent: true)
        }
    }

    mutating func note(_ text: String) {
        entries[next] = .note(text)
        advance()
    }

    private mutating func record(_ body: UnsafeBufferPointer<UInt8>, sent: Bool) {
        let n = min(body.count, PacketRing.clip)
        let base = next * PacketRing.clip
        storage.withUnsafeMutableBufferPointer { dst in
            for i in 0..<n { dst[base + i] = body[i] }
        }
        entries[next] = .packet(sent: sent, length: body.count, storedCount: n)
        advance()
    }

    private mutating func advance() {
        next = (next + 1) % capacity
        count = min(count + 1, capacity)
    }

    /// Oldest first.
    var snapshot: [String] {
        let first = count < capacity ? 0 : next
        return (0..<count).map { i in
            let slot = (first + i) % capacity
            switch entries[slot] {
            case .note(let text):
                return text
            case .packet(let sent, let length, let stored):
                let bytes = storage[slot * PacketRing.clip..<slot * PacketRing.clip + stored]
                var text = (sent ? "-> " : "<- ") + String(decoding: bytes.map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
                if length > stored { text += "...(\(length) bytes)" }
                return text
            }
        }
    }
}
