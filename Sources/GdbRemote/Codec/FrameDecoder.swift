/// Byte-fed decoder for the remote protocol. No I/O: feed it whatever bytes
/// arrived, in any split, and it hands back complete frames. It never traps:
/// garbage outside packets is counted and dropped, a `$` inside a packet
/// restarts it (the truncated one is dropped), over-long packets are
/// reported as `.oversized` once their end arrives.
public struct FrameDecoder: Sendable {
    private enum State: Sendable {
        case idle
        case body
        case escaped        // after `}`: the next byte is XORed with 0x20
        case runLength      // after `*`: the next byte is a repeat count
        case checksumHigh
        case checksumLow
    }

    /// The largest body (after expansion) accepted; longer packets become `.oversized`.
    public var maximumBodySize: Int
    /// Bytes dropped because they were outside any frame or in a truncated packet.
    public private(set) var discardedByteCount = 0

    private var state = State.idle
    private var isNotification = false
    private var body: [UInt8] = []
    private var sum: UInt8 = 0
    private var receivedHigh: UInt8 = 0
    private var overflowed = false

    /// - Parameter maximumBodySize: bodies larger than this are discarded (default 1 MiB).
    public init(maximumBodySize: Int = 1 << 20) {
        self.maximumBodySize = maximumBodySize
    }

    /// True while part of a packet has been received but not its end.
    public var isInsideFrame: Bool {
        if case .idle = state { return false }
        return true
    }

    /// Decodes `bytes` and returns the frames they complete.
    public mutating func feed<C: Collection>(_ bytes: C) -> [Frame] where C.Element == UInt8 {
        var frames: [Frame] = []
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            feed(buffer) { frames.append($0) }
        }
        if handled == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { buffer in feed(buffer) { frames.append($0) } }
        }
        return frames
    }

    /// Decodes `bytes`, calling `emit` for every completed frame (no intermediate array).
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (Frame) -> Void) {
        var i = 0
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch state {
            case .idle:
                switch c {
                case UInt8(ascii: "$"): begin(notification: false)
                case UInt8(ascii: "%"): begin(notification: true)
                case UInt8(ascii: "+"): emit(.ack)
                case UInt8(ascii: "-"): emit(.nack)
                case 0x03: emit(.interrupt)
                default: discardedByteCount += 1
                }
                i += 1
            case .body:
                // Fast path: copy the run of ordinary bytes in one go.
                var j = i
                var runSum = sum
                while j < n {
                    let d = bytes[j]
                    if d == UInt8(ascii: "#") || d == UInt8(ascii: "}") || d == UInt8(ascii: "*") || d == UInt8(ascii: "$") { break }
                    runSum &+= d
                    j += 1
                }
                if j > i {
                    append(UnsafeBufferPointer(rebasing: bytes[i..<j]))
                    sum = runSum
                    i = j
                    continue
                }
                switch c {
                case UInt8(ascii: "#"): state = .checksumHigh
                case UInt8(ascii: "}"): sum &+= c; state = .escaped
                case UInt8(ascii: "*"): sum &+= c; state = .runLength
                default: // `$`: the previous packet was truncated; start over.
                    discardedByteCount += body.count + 1
                    begin(notification: false)
                }
                i += 1
            case .escaped:
                sum &+= c
                appendByte(c ^ 0x20)
                state = .body
                i += 1
            case .runLength:
                sum &+= c
                // `X*n` repeats X (n - 29) more times; n is printable, so 3...97.
                let repeats = Int(c) - 29
                if repeats > 0, let last = body.last, !overflowed {
                    if body.count + repeats > maximumBodySize { overflowed = true } else {
                        body.append(contentsOf: repeatElement(last, count: repeats))
                    }
                }
                state = .body
                i += 1
            case .checksumHigh:
                if c == UInt8(ascii: "$") { discardedByteCount += body.count + 2; begin(notification: false); i += 1; continue }
                receivedHigh = c
                state = .checksumLow
                i += 1
            case .checksumLow:
                if c == UInt8(ascii: "$") { discardedByteCount += body.count + 3; begin(notification: false); i += 1; continue }
                let valid: Bool
                if let h = Hex.nibble(receivedHigh), let l = Hex.nibble(c) { valid = (h << 4 | l) == sum } else { valid = false }
                if overflowed {
                    emit(.oversized(limit: maximumBodySize))
                } else if isNotification {
                    emit(.notification(body: body, checksumValid: valid))
                } else {
                    emit(.packet(body: body, checksumValid: valid))
                }
                // The body was handed out; start the next one with room for a reply of the same size.
                let lastSize = body.count
                body = []
                body.reserveCapacity(lastSize)
                state = .idle
                i += 1
            }
        }
    }

    /// Forgets a partial frame (after a reconnect, say).
    public mutating func reset() {
        body = []
        state = .idle
        overflowed = false
    }

    private mutating func begin(notification: Bool) {
        isNotification = notification
        body.removeAll(keepingCapacity: true)
        sum = 0
        overflowed = false
        state = .body
    }

    private mutating func append(_ run: UnsafeBufferPointer<UInt8>) {
        if overflowed { return }
        if body.count + run.count > maximumBodySize { overflowed = true; body.removeAll(); return }
        body.append(contentsOf: run)
    }

    private mutating func appendByte(_ b: UInt8) {
        if overflowed { return }
        if body.count + 1 > maximumBodySize { overflowed = true; body.removeAll(); return }
        body.append(b)
    }
}
