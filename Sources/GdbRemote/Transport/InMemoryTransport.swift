import Foundation

/// One end of an in-process byte pipe pair, for tests: what one end writes
/// the other reads. Honors deadlines like a socket; `close()` on either end
/// makes the peer's reads fail with `.closed` once drained.
public final class InMemoryTransport: GdbTransport, @unchecked Sendable {
    private final class Channel: @unchecked Sendable {
        let condition = NSCondition()
        var bytes: [UInt8] = []
        var readOffset = 0
        var writerClosed = false
        var readerClosed = false
    }

    private let incoming: Channel
    private let outgoing: Channel

    private init(incoming: Channel, outgoing: Channel) {
        self.incoming = incoming
        self.outgoing = outgoing
    }

    /// Two connected ends: (client side, stub side).
    public static func pair() -> (InMemoryTransport, InMemoryTransport) {
        let a = Channel(), b = Channel()
        return (InMemoryTransport(incoming: a, outgoing: b), InMemoryTransport(incoming: b, outgoing: a))
    }

    public func write(_ bytes: UnsafeRawBufferPointer, deadline: Deadline) throws(TransportError) {
        outgoing.condition.lock()
        defer { outgoing.condition.unlock() }
        if outgoing.readerClosed || outgoing.writerClosed { throw .closed }
        outgoing.bytes.append(contentsOf: bytes)
        outgoing.condition.broadcast()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(TransportError) -> Int {
        let channel = incoming
        channel.condition.lock()
        defer { channel.condition.unlock() }
        while true {
            if channel.readerClosed { throw .closed }
            let available = channel.bytes.count - channel.readOffset
            if available > 0 {
                let n = min(available, buffer.count)
                channel.bytes.withUnsafeBytes { src in
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[channel.readOffset..<channel.readOffset + n]))
                }
                channel.readOffset += n
                if channel.readOffset == channel.bytes.count { channel.bytes.removeAll(keepingCapacity: true); channel.readOffset = 0 }
                return n
            }
            if channel.writerClosed { throw .closed }
            let remaining = deadline.remainingSeconds
            if remaining <= 0 { throw .timedOut }
            _ = channel.condition.wait(until: Date().addingTimeInterval(remaining))
        }
    }

    public func close() {
        for (channel, isIncoming) in [(incoming, true), (outgoing, false)] {
            channel.condition.lock()
            if isIncoming { channel.readerClosed = true } else { channel.writerClosed = true }
            channel.condition.broadcast()
            channel.condition.unlock()
        }
    }
}
