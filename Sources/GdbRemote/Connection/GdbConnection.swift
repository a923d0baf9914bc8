/// The framing, acknowledgement and pipelining layer. Not thread-safe: the
/// client serialises calls with its lock; only `sendInterruptByte` may be
/// called concurrently (it writes straight to the transport).
///
/// Requests go out up to `pipelineWindow` at a time; replies are matched in
/// order. In ack mode a `-` from the stub re-sends the oldest unacknowledged
/// packet (which the stub will then answer after the ones it already took, so
/// it moves to the back of the queue). A corrupted reply is answered with `-`
/// when it is the only one outstanding (the stub resends it), otherwise the
/// idempotent request is re-issued, because QEMU only keeps its latest reply.
public final class GdbConnection: @unchecked Sendable {
    private struct InFlight {
        var frame: [UInt8]
        var index: Int
        var expectation: ReplyExpectation
        var isIdempotent: Bool
        var acked = false
        var sendAttempts = 1
        var replyAttempts = 0
    }

    /// The byte stream underneath.
    public let transport: GdbTransport
    /// The run state (see `ConnectionState` for the transition table).
    public private(set) var state: ConnectionState = .stopped
    /// Whether `+`/`-` are exchanged (until `QStartNoAckMode` succeeds).
    public var ackMode = true
    /// The largest packet (framing included) the stub accepts.
    public var maximumPacketSize = 4096
    /// How often a packet is re-sent (or a reply re-requested) before giving up.
    public var retryLimit = 4
    /// Requests in flight at once.
    public var pipelineWindow = 32
    /// Inactivity limit: an exchange fails when nothing arrives for this long.
    public var replyTimeout: Double = 5

    /// Console output kept at most (the newest bytes); older output is dropped and counted.
    public static let consoleOutputCapacity = 1 << 20
    /// Unclaimed stop replies kept at most (the newest); older ones are dropped and counted.
    public static let asynchronousStopCapacity = 256
    /// Output of one monitor command kept at most (the newest bytes).
    public static let monitorOutputCapacity = 16 << 20

    /// Console bytes dropped because nobody took them before the cap was reached.
    public var droppedConsoleByteCount: Int { console.droppedCount }
    /// Stop replies that arrived while no resume was pending, oldest first (at most
    /// `asynchronousStopCapacity`: the newest).
    public var asynchronousStops: [[UInt8]] { unclaimedStops.elements }
    /// Stop replies dropped because nobody took them before the cap was reached.
    public var droppedStopCount: Int { unclaimedStops.droppedCount }

    private var decoder: FrameDecoder
    private var console = BoundedBuffer<UInt8>(capacity: GdbConnection.consoleOutputCapacity)
    private var unclaimedStops = BoundedBuffer<[UInt8]>(capacity: GdbConnection.asynchronousStopCapacity)
    private var ring = PacketRing()
    private var inFlight: [InFlight] = []
    private var outgoing: [UInt8] = []
    /// `outgoing` holds more than acks: a reply depends on it being sent.
    private var outgoingHasRequests = false
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var failure: GdbError?
    /// Set by the frame handler, thrown by the pump (closures cannot throw typed errors).
    private var pendingError: GdbError.Kind?
    private var currentOperation = ""
    /// Reply sink of the exchange in progress.
    private var deliver: ((Int, [UInt8]) -> Void)?
    private var consoleSink: ((Int, [UInt8]) -> Void)?
    private var oversizedReplies: [Int] = []
    /// Requests answered so far (the exchange loop counts its progress with it).
    private var repliesMatched = 0

    /// A connection in ack mode over `transport`; replies over `maximumReplySize` bytes are refused.
    public init(transport: GdbTransport, maximumReplySize: Int = 1 << 20) {
        self.transport = transport
        self.decoder = FrameDecoder(maximumBodySize: maximumReplySize)
        self.readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
    }

    deinit {
        transport.close()
        readBuffer.deallocate()
    }

    /// The last packets exchanged, oldest first.
    public var recentPackets: [String] { ring.snapshot }

    /// Takes the console output collected so far.
    public func takeConsoleOutput() -> [UInt8] { console.take() }

    /// Takes the asynchronous stop replies collected so far.
    public func takeAsynchronousStops() -> [[UInt8]] { unclaimedStops.take() }

    /// Closes the transport; the state becomes `closed`.
    public func close() {
        transport.close()
        state = .closed
    }

    func error(_ kind: GdbError.Kind, _ operation: String, packet: String? = nil, address: UInt64? = nil) -> GdbError {
        GdbError(kind, operation: operation, packet: packet, address: address, recentPackets: ring.snapshot)
    }

    // MARK: Exchanges

    /// Sends `packets` (pipelined) and returns their reply bodies in order.
    public func exchange(_ packets: [Packet], operation: String) throws(GdbError) -> [[UInt8]] {
        var replies = [[UInt8]](repeating: [], count: packets.count)
        try exchange(packets, operation: operation) { index, body in replies[index] = body }
        return replies
    }

    /// Sends one packet and returns its reply body.
    public func exchange(_ packet: Packet, operation: String) throws(GdbError) -> [UInt8] {
        try exchange([packet], operation: operation)[0]
    }

    /// Sends one packet that collects console output (qRcmd); returns (output, final reply).
    public func exchangeCollectingConsole(_ packet: Packet, operation: String) throws(GdbError) -> (output: [UInt8], reply: [UInt8]) {
        var output = BoundedBuffer<UInt8>(capacity: GdbConnection.monitorOutputCapacity)
        consoleSink = { _, bytes in output.append(contentsOf: bytes) }
        defer { consoleSink = nil }
        let reply = try exchange(packet, operation: operation)
        return (output.elements, reply)
    }

    /// Sends `packets` with up to `pipelineWindow` in flight; `onReply(index, body)`
    /// is called for each reply (in completion order, which is request order unless
    /// a retry reordered them). All replies are drained before an oversized reply
    /// is reported, so the stream stays in step.
    public func exchange(_ packets: [Packet], operation: String,
                         onReply: @escaping (Int, [UInt8]) -> Void) throws(GdbError) {
        currentOperation = operation
        try requireState(.stopped, operation: operation, packet: packets.first?.description)
        guard inFlight.isEmpty else {
            throw error(.invalidState(state), operation, packet: packets.first?.description)
        }
        var frames: [[UInt8]] = []
        frames.reserveCapacity(packets.count)
        for packet in packets {
            let frame = packet.framed()
            if frame.count > maximumPacketSize {
                throw error(.packetTooLarge(bytes: frame.count, limit: maximumPacketSize), operation, packet: packet.description)
            }
            frames.append(frame)
        }
        deliver = onReply
        oversizedReplies = []
        defer { deliver = nil }
        var nextToSend = 0
        var completed = 0
        // The deadline is for silence: it restarts whenever a reply completes.
        var activityDeadline = Deadline.after(seconds: replyTimeout)
        while completed < packets.count {
            // Refill in batches: when half the window has drained, or when we are about to
            // wait anyway. One write then carries many requests and acks, so neither side
            // wakes up once per packet.
            func topUp() {
                while nextToSend < packets.count && inFlight.count < pipelineWindow {
                    let packet = packets[nextToSend]
                    enqueue(frame: frames[nextToSend], index: nextToSend, expecting: packet.expectation, idempotent: packet.isIdempotent)
                    nextToSend += 1
                }
            }
            if inFlight.count <= pipelineWindow / 2 { topUp() }
            let before = repliesMatched
            try pump(until: activityDeadline, beforeWaiting: topUp) {
                (inFlight.first.map { packets[$0.index] } ?? packets[packets.count - 1]).description
            }
            if repliesMatched > before {
                completed += repliesMatched - before
                activityDeadline = Deadline.after(seconds: replyTimeout)
            }
        }
        if let index = oversizedReplies.first {
            throw error(.malformedReply("reply larger than \(decoder.maximumBodySize) bytes"), operation, packet: packets[index].description)
        }
    }

    /// Sends a resume packet (`c`, `s`, `vCont;...`) and returns at once; the
    /// state becomes `running` and `waitForStop` collects the stop reply.
    public func sendResume(_ packet: Packet, operation: String) throws(GdbError) {
        currentOperation = operation
        try requireState(.stopped, operation: operation, packet: packet.description)
        enqueue(frame: packet.framed(), index: 0, expecting: .stopReply, idempotent: false)
        state = .running
        deliver = nil
        try flush(packet: packet.description)
    }

    /// Sends a request that gets no reply (`k` on some stubs, `D` then the stub closes).
    public func sendWithoutReply(_ packet: Packet, operation: String) throws(GdbError) {
        currentOperation = operation
        let frame = packet.framed()
        ring.record(sentFrame: frame)
        outgoing += frame
        try flush(packet: packet.description)
    }

    /// Waits for the pending resume's stop reply until `deadline`. Returns the
    /// stop reply, or nil when the deadline passed first (the target still runs).
    public func waitForStop(until deadline: Deadline, operation: String) throws(GdbError) -> [UInt8]? {
        currentOperation = operation
        if state == .stopped || state == .exited, let stop = unclaimedStops.popFirst() {
            return stop
        }
        guard state == .running || state == .interrupting else {
            throw error(.invalidState(state), operation)
        }
        var stopBody: [UInt8]? = nil
        deliver = { _, body in stopBody = body }
        defer { deliver = nil }
        while stopBody == nil {
            do throws(GdbError) {
                try pump(until: deadline, closeOnTimeout: false) { nil }
            } catch {
                if case .timedOut = error.kind { return nil }
                throw error
            }
            if stopBody == nil, state != .running, state != .interrupting, let stop = unclaimedStops.popFirst() {
                return stop
            }
        }
        return stopBody
    }

    /// Notices, without a round trip, whether the stub hung up (one non-blocking read;
    /// anything that did arrive, an asynchronous stop say, is handled as usual).
    /// Answers served from a cache call this so a dead stub is still reported at once.
    public func checkConnection(operation: String) throws(GdbError) {
        currentOperation = operation
        if let failure { throw error(failure.kind, operation) }
        guard state != .closed else { throw error(.invalidState(.closed), operation) }
        let n: Int
        do throws(TransportError) { n = try transport.readAvailable(into: readBuffer) } catch {
            throw fail(transportError: error, packet: nil)
        }
        guard n > 0 else { return }
        let bytes = UnsafeBufferPointer(start: readBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n)
        decoder.feed(bytes) { frame in handle(frame) }
        if let kind = pendingError {
            pendingError = nil
            throw desynchronised(kind, packet: nil)
        }
    }

    /// Writes 0x03 (after any pending acks, which QEMU needs before it listens
    /// again). Moves `running` to `interrupting`.
    public func sendInterrupt(operation: String) throws(GdbError) {
        currentOperation = operation
        guard state == .running || state == .interrupting else { throw error(.invalidState(state), operation) }
        outgoing.append(0x03)
        ring.note("-> ^C")
        state = .interrupting
        try flush(packet: "^C")
    }

    // MARK: Internals

    private func requireState(_ wanted: ConnectionState, operation: String, packet: String?) throws(GdbError) {
        if let failure { throw error(failure.kind, operation, packet: packet) }
        guard state == wanted else { throw error(.invalidState(state), operation, packet: packet) }
    }

    private func enqueue(frame: [UInt8], index: Int, expecting expectation: ReplyExpectation, idempotent: Bool) {
        ring.record(sentFrame: frame)
        outgoing += frame
        outgoingHasRequests = true
        inFlight.append(InFlight(frame: frame, index: index, expectation: expectation, isIdempotent: idempotent, acked: !ackMode))
    }

    private func flush(packet: String?) throws(GdbError) {
        do throws(TransportError) { try flushOrThrow() } catch { throw fail(transportError: error, packet: packet) }
    }

    private func flushOrThrow() throws(TransportError) {
        guard !outgoing.isEmpty else { return }
        try transport.write(outgoing, deadline: .after(seconds: replyTimeout))
        outgoing.removeAll(keepingCapacity: true)
        outgoingHasRequests = false
    }

    private func fail(transportError: TransportError, packet: String?) -> GdbError {
        let kind: GdbError.Kind
        switch transportError {
        case .timedOut: kind = .timedOut(seconds: replyTimeout)
        case .closed: kind = .disconnected("connection closed by the stub")
        case .failed: kind = .disconnected(transportError.description)
        }
        return desynchronised(kind, packet: packet)
    }

    /// Records a failure after which replies can no longer be matched: the connection closes.
    private func desynchronised(_ kind: GdbError.Kind, packet: String?) -> GdbError {
        let e = error(kind, currentOperation, packet: packet)
        ring.note("!! \(e.description)")
        failure = e
        inFlight.removeAll()
        transport.close()
        state = .closed
        return e
    }

    /// Flushes, reads once (waiting until `deadline`), and handles the frames.
    /// Pending acks alone are not worth a system call while replies keep arriving: they
    /// go out with the next requests, or before the connection would block.
    private func pump(until deadline: Deadline, closeOnTimeout: Bool = true, beforeWaiting: () -> Void = {},
                      packet describe: () -> String?) throws(GdbError) {
        var n = 0
        do throws(TransportError) {
            if outgoingHasRequests || outgoing.isEmpty {
                if !outgoing.isEmpty { try flushOrThrow() }
            } else {
                n = try transport.readAvailable(into: readBuffer)
                if n == 0 { beforeWaiting(); try flushOrThrow() }
            }
            if n == 0 { n = try transport.read(into: readBuffer, deadline: deadline) }
        } catch {
            if error == .timedOut && (!closeOnTimeout || inFlight.isEmpty) {
                throw self.error(.timedOut(seconds: replyTimeout), currentOperation, packet: describe())
            }
            throw fail(transportError: error, packet: describe())
        }
        let bytes = UnsafeBufferPointer(start: readBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n)
        decoder.feed(bytes) { frame in handle(frame) }
        if let kind = pendingError {
            pendingError = nil
            throw desynchronised(kind, packet: describe())
        }
        if state == .exited, !inFlight.isEmpty, inFlight.allSatisfy({ $0.expectation != .stopReply }) {
            // The target is gone; nothing will answer the requests still in flight.
            throw desynchronised(.disconnected("the target exited"), packet: describe())
        }
    }

    private func handle(_ frame: Frame) {
        guard pendingError == nil else { return }
        switch frame {
        case .ack:
            if let i = inFlight.firstIndex(where: { !$0.acked }) { inFlight[i].acked = true }
        case .nack:
            ring.note("<- -")
            guard ackMode, let i = inFlight.firstIndex(where: { !$0.acked }) else { return }
            var entry = inFlight.remove(at: i)
            entry.sendAttempts += 1
            if entry.sendAttempts > retryLimit + 1 {
                pendingError = .retryLimitExceeded(attempts: entry.sendAttempts - 1)
                return
            }
            ring.record(sentFrame: entry.frame)
            outgoing += entry.frame
            outgoingHasRequests = true
            inFlight.append(entry)
        case .interrupt:
            ring.note("<- ^C (ignored)")
        case .notification(let body, _):
            ring.record(received: [UInt8(ascii: "%")] + body)
        case .oversized:
            ring.note("<- (oversized reply dropped)")
            if ackMode { outgoing.append(UInt8(ascii: "+")) }
            guard !inFlight.isEmpty else { return }
            let entry = inFlight.removeFirst()
            oversizedReplies.append(entry.index)
            repliesMatched += 1
            deliver?(entry.index, [])
        case .packet(let body, let valid):
            if valid { handleValidPacket(body) } else { handleCorruptedPacket(body) }
        }
    }

    private func handleCorruptedPacket(_ body: [UInt8]) {
        ring.note("<- (bad checksum) " + String(decoding: body.prefix(40), as: UTF8.self))
        guard !inFlight.isEmpty else {
            if ackMode { outgoing.append(UInt8(ascii: "-")) }
            return
        }
        inFlight[0].replyAttempts += 1
        if inFlight[0].replyAttempts > retryLimit {
            pendingError = .retryLimitExceeded(attempts: inFlight[0].replyAttempts)
            return
        }
        if ackMode && inFlight.count == 1 {
            outgoing.append(UInt8(ascii: "-"))  // the stub still holds this reply: ask again
            outgoingHasRequests = true
        } else if inFlight[0].isIdempotent {
            if ackMode { outgoing.append(UInt8(ascii: "+")) }
            var entry = inFlight.removeFirst()
            entry.acked = !ackMode
            ring.record(sentFrame: entry.frame)
            outgoing += entry.frame
            outgoingHasRequests = true
            inFlight.append(entry)
        } else {
            pendingError = .malformedReply("corrupted reply to a request that cannot be repeated")
        }
    }

    private func handleValidPacket(_ body: [UInt8]) {
        if ackMode { outgoing.append(UInt8(ascii: "+")) }
        ring.record(received: body)
        let head = inFlight.first
        if StopReplyShape.isConsoleOutput(body), head?.expectation != .anyReply {
            let text = Hex.decode(body.dropFirst()) ?? []
            if let head, head.expectation == .consoleThenReply, let sink = consoleSink {
                sink(head.index, text)
            } else {
                console.append(contentsOf: text)
            }
            return
        }
        guard let head else {
            if StopReplyShape.matches(body) { recordAsynchronousStop(body) } else { ring.note("   (unexpected packet ignored)") }
            return
        }
        if head.expectation == .reply || head.expectation == .consoleThenReply, StopReplyShape.matches(body) {
            recordAsynchronousStop(body)
            return
        }
        inFlight.removeFirst()
        repliesMatched += 1
        if head.expectation == .stopReply {
            state = StopReplyShape.isExit(body) ? .exited : .stopped
        }
        deliver?(head.index, body)
    }

    private func recordAsynchronousStop(_ body: [UInt8]) {
        unclaimedStops.append(body)
        if StopReplyShape.isExit(body) {
            state = .exited
        } else if state == .running || state == .interrupting {
            state = .stopped
        }
    }
}
