/// The pump: the only part of the connection that does I/O. It encodes requests,
/// feeds what the transport delivers through the `FrameDecoder` into the
/// `ReplyMatcher`, carries out the matcher's actions (replies to the caller,
/// unasked-for output to the `Inbox`), writes what the matcher queued, and keeps
/// the deadlines. Not thread-safe: the client serialises every call with its lock
/// (an interrupt from another thread waits for the lock between `waitForStop` slices).
///
/// Requests go out up to `pipelineWindow` at a time; see `ReplyMatcher` for how
/// replies, acks, nacks and retries are matched.
public final class GdbConnection: @unchecked Sendable {
    /// The byte stream underneath.
    public let transport: GdbTransport
    /// The run state (see `ConnectionState` for the transition table).
    public var state: ConnectionState { matcher.state }
    /// Whether `+`/`-` are exchanged (until `QStartNoAckMode` succeeds).
    public var ackMode: Bool {
        get { matcher.ackMode }
        set { matcher.ackMode = newValue }
    }
    /// The largest packet (framing included) the stub accepts.
    public var maximumPacketSize = 4096
    /// How often a packet is re-sent (or a reply re-requested) before giving up.
    public var retryLimit: Int {
        get { matcher.retryLimit }
        set { matcher.retryLimit = newValue }
    }
    /// Requests in flight at once.
    public var pipelineWindow = 32
    /// Inactivity limit: an exchange fails when nothing arrives for this long.
    public var replyTimeout: Double = 5

    /// Console output kept at most (the newest bytes); older output is dropped and counted.
    public static let consoleOutputCapacity = Inbox.consoleCapacity
    /// Unclaimed stop replies kept at most (the newest); older ones are dropped and counted.
    public static let asynchronousStopCapacity = Inbox.stopCapacity
    /// Output of one monitor command kept at most (the newest bytes).
    public static let monitorOutputCapacity = 16 << 20

    /// Console bytes dropped because nobody took them before the cap was reached.
    public var droppedConsoleByteCount: Int { inbox.console.droppedCount }
    /// Request batches sent (one pipelined batch is one round trip's worth of waiting), and packets in them.
    public private(set) var exchangeCount = 0
    public private(set) var packetCount = 0
    /// Stop replies that arrived while no resume was pending, oldest first (at most
    /// `asynchronousStopCapacity`: the newest).
    public var asynchronousStops: [[UInt8]] { inbox.stops.elements }
    /// Stop replies dropped because nobody took them before the cap was reached.
    public var droppedStopCount: Int { inbox.stops.droppedCount }

    private var decoder: FrameDecoder
    private var matcher = ReplyMatcher()
    private var inbox = Inbox()
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var failure: GdbError?
    /// Set while handling frames, thrown once they are handled (closures cannot throw typed errors).
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
    public var recentPackets: [String] { matcher.ring.snapshot }

    /// Takes the console output collected so far.
    public func takeConsoleOutput() -> [UInt8] { inbox.console.take() }

    /// Takes the asynchronous stop replies collected so far.
    public func takeAsynchronousStops() -> [[UInt8]] { inbox.stops.take() }

    /// Closes the transport; the state becomes `closed`.
    public func close() {
        transport.close()
        matcher.abandon()
    }

    /// An error of `kind` in `operation`, carrying the packet ring.
    func error(_ kind: GdbError.Kind, _ operation: String, packet: String? = nil, address: UInt64? = nil) -> GdbError {
        GdbError(kind, operation: operation, packet: packet, address: address, recentPackets: matcher.ring.snapshot)
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
        exchangeCount += 1
        packetCount += packets.count
        try requireState(.stopped, operation: operation, packet: packets.first)
        guard matcher.inFlight.isEmpty else {
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
                while nextToSend < packets.count && matcher.inFlight.count < pipelineWindow {
                    let packet = packets[nextToSend]
                    matcher.send(frame: frames[nextToSend], index: nextToSend, expecting: packet.expectation, idempotent: packet.isIdempotent)
                    nextToSend += 1
                }
            }
            if matcher.inFlight.count <= pipelineWindow / 2 { topUp() }
            let before = repliesMatched
            try pump(until: activityDeadline, beforeWaiting: topUp) {
                (matcher.inFlight.first.map { packets[$0.index] } ?? packets[packets.count - 1]).description
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
        try requireState(.stopped, operation: operation, packet: packet)
        matcher.sendResume(frame: packet.framed())
        deliver = nil
        try flush(packet: packet.description)
    }

    /// Sends a packet that gets no reply (`k` on some stubs, `D` then the stub closes).
    public func sendWithoutReply(_ packet: Packet, operation: String) throws(GdbError) {
        currentOperation = operation
        matcher.sendUnanswered(frame: packet.framed())
        try flush(packet: packet.description)
    }

    /// Waits for the pending resume's stop reply until `deadline`. Returns the
    /// stop reply, or nil when the deadline passed first (the target still runs).
    public func waitForStop(until deadline: Deadline, operation: String) throws(GdbError) -> [UInt8]? {
        currentOperation = operation
        if state == .stopped || state == .exited, let stop = inbox.stops.popFirst() {
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
            if stopBody == nil, state != .running, state != .interrupting, let stop = inbox.stops.popFirst() {
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
        try handleReceived(count: n, packet: nil)
    }

    /// Writes 0x03 (after any pending acks, which QEMU needs before it listens
    /// again). Moves `running` to `interrupting`.
    public func sendInterrupt(operation: String) throws(GdbError) {
        currentOperation = operation
        guard state == .running || state == .interrupting else { throw error(.invalidState(state), operation) }
        matcher.sendInterrupt()
        try flush(packet: "^C")
    }

    // MARK: Internals

    private func requireState(_ wanted: ConnectionState, operation: String, packet: Packet?) throws(GdbError) {
        if let failure { throw error(failure.kind, operation, packet: packet?.description) }
        guard state == wanted else { throw error(.invalidState(state), operation, packet: packet?.description) }
    }

    private func flush(packet: String?) throws(GdbError) {
        do throws(TransportError) { try flushOrThrow() } catch { throw fail(transportError: error, packet: packet) }
    }

    private func flushOrThrow() throws(TransportError) {
        guard !matcher.outgoing.isEmpty else { return }
        try transport.write(matcher.outgoing, deadline: .after(seconds: replyTimeout))
        matcher.didWrite()
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
        matcher.ring.note("!! \(e.description)")
        failure = e
        matcher.abandon()
        transport.close()
        return e
    }

    /// Flushes, reads once (waiting until `deadline`), and handles the frames.
    /// Pending acks alone are not worth a system call while replies keep arriving: they
    /// go out with the next requests, or before the connection would block.
    private func pump(until deadline: Deadline, closeOnTimeout: Bool = true, beforeWaiting: () -> Void = {},
                      packet describe: () -> String?) throws(GdbError) {
        var n = 0
        do throws(TransportError) {
            if matcher.outgoingHasRequests || matcher.outgoing.isEmpty {
                if !matcher.outgoing.isEmpty { try flushOrThrow() }
            } else {
                n = try transport.readAvailable(into: readBuffer)
                if n == 0 { beforeWaiting(); try flushOrThrow() }
            }
            if n == 0 { n = try transport.read(into: readBuffer, deadline: deadline) }
        } catch {
            if error == .timedOut && (!closeOnTimeout || matcher.inFlight.isEmpty) {
                throw self.error(.timedOut(seconds: replyTimeout), currentOperation, packet: describe())
            }
            throw fail(transportError: error, packet: describe())
        }
        try handleReceived(count: n, packet: describe())
        if matcher.repliesCannotCome {
            // The target is gone; nothing will answer the requests still in flight.
            throw desynchronised(.disconnected("the target exited"), packet: describe())
        }
    }

    /// Decodes the first `count` bytes of the read buffer and carries out what they mean.
    private func handleReceived(count n: Int, packet: @autoclosure () -> String?) throws(GdbError) {
        let bytes = UnsafeBufferPointer(start: readBuffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n)
        decoder.feed(bytes) { frame in
            if let action = matcher.receive(frame) { perform(action) }
        }
        if let kind = pendingError {
            pendingError = nil
            throw desynchronised(kind, packet: packet())
        }
    }

    private func perform(_ action: ReplyMatcher.Action) {
        switch action {
        case .deliver(let index, let body):
            repliesMatched += 1
            deliver?(index, body)
        case .deliverOversized(let index):
            oversizedReplies.append(index)
            repliesMatched += 1
            deliver?(index, [])
        case .console(let text, let request):
            if let request, let sink = consoleSink { sink(request, text) } else { inbox.console.append(contentsOf: text) }
        case .asynchronousStop(let body):
            inbox.stops.append(body)
        case .fail(let kind):
            pendingError = kind
        }
    }
}
