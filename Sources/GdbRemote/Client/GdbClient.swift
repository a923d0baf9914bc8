import Foundation

/// A synchronous, thread-safe client for a GDB remote stub.
///
/// Every operation blocks until the stub answers or its deadline passes, and
/// throws `GdbError` (one line: operation, packet, address). Calls from
/// several threads are serialised by an internal lock, except that
/// `interrupt(timeout:)` gets in between the slices of a `waitForStop` running
/// on another thread.
///
/// ```swift
/// let gdb = try GdbClient.connect(to: .tcp(host: "127.0.0.1", port: 1234))
/// let ttbr1 = try gdb.readRegister("TTBR1_EL1")
/// let page = try gdb.readMemory(at: 0xFFFF_0000_4020_0000, count: 4096)
/// ```
public final class GdbClient: @unchecked Sendable {
    let connection: GdbConnection
    let lock = NSRecursiveLock()
    /// Interrupts waiting for `lock`: a `waitForStop` on another thread steps aside
    /// for them between its slices (the lock itself is not fair).
    let interruptQueue = InterruptQueue()

    /// What the stub announced in `qSupported`.
    public let features: StubFeatures
    /// The register map from the target description (empty if the stub has none).
    public private(set) var registerMap: RegisterMap
    /// The stub accepts `vCont` (and which actions).
    public private(set) var vContActions: Set<String> = []
    /// Default deadline, in seconds of silence, for every request.
    public var timeout: Double {
        get { locked { connection.replyTimeout } }
        set { locked { connection.replyTimeout = newValue } }
    }
    /// Requests kept in flight at once by pipelined operations (memory, batch register reads).
    /// Request batches (round trips) and packets sent so far: what a benchmark counts.
    public var traffic: (exchanges: Int, packets: Int) {
        locked { (connection.exchangeCount, connection.packetCount) }
    }

    public var pipelineWindow: Int {
        get { locked { connection.pipelineWindow } }
        set { locked { connection.pipelineWindow = max(1, newValue) } }
    }
    /// Largest `m` request; QEMU refuses more than 0x800.
    public var memoryReadChunkSize: Int
    /// Largest `M` payload that keeps the packet under the stub's PacketSize.
    public var memoryWriteChunkSize: Int
    /// Whether `p`/`H` use `p<pid>.<tid>` thread ids.
    public let multiprocess: Bool

    // Run-control bookkeeping (guarded by `lock`).
    var insertedBreakpoints: [Breakpoint] = []
    var lastStop: StopReason?
    var stopGeneration = 0
    var resumeGeneration = 0
    /// The resume in flight is `bc`/`bs` (and no interrupt was sent since): how its
    /// `E14` and its unasked-for SIGINT are read (see `StopReason.replayBoundary`).
    var reverseInFlight = false
    var selectedGeneralThread: ThreadID?
    /// Register values read since the target last stopped, by (thread, number):
    /// registers cannot change while the target is stopped unless we write them.
    var registerCache: [RegisterCacheKey: [UInt8]] = [:]
    /// Checked before every memory read; returns why a range must not be read.
    /// The QEMU adapter installs one that keeps bulk reads off device memory.
    var memoryReadGuard: ((GdbClient, MemoryRange) throws(GdbError) -> String?)?
    /// Memory accesses use physical addresses (set by the QEMU adapter's scoped mode).
    var physicalMemoryMode = false
    /// The stub identified itself as QEMU's (`qqemu.Supported`).
    public internal(set) var isQEMU = false

    /// What the client announces in `qSupported`.
    static let clientFeatures = ["multiprocess+", "swbreak+", "hwbreak+", "vContSupported+", "xmlRegisters=aarch64"]

    /// Connects to a stub and performs the handshake (qSupported, no-ack mode if
    /// offered, vCont?, target description).
    public static func connect(to address: GdbAddress, timeout: Double = 5) throws(GdbError) -> GdbClient {
        let transport: SocketTransport
        do throws(TransportError) {
            transport = try SocketTransport(connectingTo: address, deadline: .after(seconds: timeout))
        } catch {
            throw GdbError(.connectFailed("\(address): \(error)"), operation: "connect")
        }
        return try GdbClient(transport: transport, timeout: timeout)
    }

    /// Runs the handshake over an already connected transport (tests use an in-memory one).
    public init(transport: GdbTransport, timeout: Double = 5) throws(GdbError) {
        let connection = GdbConnection(transport: transport)
        connection.replyTimeout = timeout
        self.connection = connection
        let supported = try connection.exchange(.query(.supported(features: GdbClient.clientFeatures)), operation: "connect")
        let features = StubFeatures(reply: String(decoding: supported, as: UTF8.self))
        self.features = features
        connection.maximumPacketSize = features.packetSize
        self.multiprocess = features.supports("multiprocess")
        self.memoryReadChunkSize = max(1, min(0x800, features.packetSize / 2))
        self.memoryWriteChunkSize = max(1, (features.packetSize - 40) / 2)
        self.registerMap = RegisterMap(registers: [])
        if features.supports("QStartNoAckMode") {
            let reply = try connection.exchange(.query(.startNoAckMode), operation: "connect")
            if reply == Array("OK".utf8) { connection.ackMode = false }
        }
        let vCont = String(decoding: try connection.exchange(.runControl(.vContQuery), operation: "connect"), as: UTF8.self)
        if vCont.hasPrefix("vCont") {
            vContActions = Set(vCont.split(separator: ";").dropFirst().map(String.init))
        }
        try QEMUAdapter.configure(self)
        if features.supports("qXfer:features:read") {
            registerMap = try readTargetDescription()
        }
        // A stub that stopped a running target on connect said so (QEMU: T02).
        if let stop = connection.takeAsynchronousStops().last, let reason = StopReason(packet: stop) {
            lastStop = reason
            stopGeneration += 1
        }
    }

    deinit { connection.close() }

    /// The connection's run state.
    public var state: ConnectionState { locked { connection.state } }

    /// Where the stub is, from the operating system's view of the socket (nil for
    /// in-memory transports and closed connections): how a local QEMU is found.
    public var stubEndpoint: StubEndpoint? { (connection.transport as? SocketTransport)?.endpoint }

    /// The last packets exchanged, oldest first ("-> m4000,800", "<- E14"). Every
    /// `GdbError` from the connection carries a snapshot of it (`recentPackets`).
    public var recentPackets: [String] { locked { connection.recentPackets } }

    /// The last stop reply received, if any.
    public var lastStopReason: StopReason? { locked { lastStop } }

    /// Takes the console output (`O` packets) received since the last call.
    public func takeConsoleOutput() -> String {
        locked { String(decoding: connection.takeConsoleOutput(), as: UTF8.self) }
    }

    /// Breakpoints and watchpoints inserted through this client.
    public var breakpoints: [Breakpoint] { locked { insertedBreakpoints } }

    /// One request whose effect the caller knows (no cache invalidation); raw reply text.
    func request(_ packet: Packet, operation: String) throws(GdbError) -> String {
        try locked { () throws(GdbError) -> String in
            String(decoding: try connection.exchange(packet, operation: operation), as: UTF8.self)
        }
    }

    /// Closes the connection without detaching (QEMU leaves the VM as it is).
    public func close() {
        locked {
            invalidateStopCaches()
            connection.close()
        }
    }

    /// `D` (`D;<pid>` with multiprocess ids, which QEMU insists on): detaches (QEMU
    /// resumes the VM) and closes.
    public func detach() throws(GdbError) {
        try locked { () throws(GdbError) in
            defer { connection.close() }
            let packet = Packet.runControl(.detach(process: multiprocess ? lastStop?.thread?.process ?? 1 : nil))
            let reply = try connection.exchange(packet, operation: "detach")
            try expectOK(reply, operation: "detach", packet: packet.description)
        }
    }

    /// `k`: kills the target (QEMU exits) and closes.
    public func kill() throws(GdbError) {
        try locked { () throws(GdbError) in
            defer { connection.close() }
            try connection.sendWithoutReply(.runControl(.kill), operation: "kill")
        }
    }

    // MARK: helpers shared by the extensions

    func locked<T>(_ body: () throws(GdbError) -> T) throws(GdbError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// An error carrying the packet ring (every error the client throws is made here or by the connection).
    func error(_ kind: GdbError.Kind, _ operation: String, packet: String? = nil, address: UInt64? = nil) -> GdbError {
        locked { connection.error(kind, operation, packet: packet, address: address) }
    }

    /// Turns `Exx` and the empty reply into errors; passes anything else through.
    @discardableResult
    func checkReply(_ reply: [UInt8], operation: String, packet: String, address: UInt64? = nil) throws(GdbError) -> [UInt8] {
        if reply.isEmpty { throw error(.unsupported, operation, packet: packet, address: address) }
        if reply.count == 3, reply[0] == UInt8(ascii: "E"), let code = Hex.number(reply[1...]) {
            throw error(.stubError(code: UInt8(code)), operation, packet: packet, address: address)
        }
        return reply
    }

    func expectOK(_ reply: [UInt8], operation: String, packet: String, address: UInt64? = nil) throws(GdbError) {
        try checkReply(reply, operation: operation, packet: packet, address: address)
        guard reply == Array("OK".utf8) else {
            throw error(.malformedReply("expected OK, got \(String(decoding: reply.prefix(40), as: UTF8.self))"), operation, packet: packet, address: address)
        }
    }

    /// Reads an object with `qXfer:<object>:read:<annex>:offset,length`, of at most
    /// `limit` bytes and in at most `maximumXferReplies` replies (a stub that sends
    /// a byte at a time, or never says `l`, gets an error rather than hours of polling).
    func readXfer(object: String, annex: String, operation: String, limit: Int = 16 << 20) throws(GdbError) -> [UInt8] {
        var data: [UInt8] = []
        let chunk = max(64, features.packetSize - 16)
        for _ in 0..<GdbClient.maximumXferReplies {
            let packet = Packet.query(.readObject(object: object, annex: annex, offset: data.count, length: chunk))
            let reply = try checkReply(try connection.exchange(packet, operation: operation), operation: operation, packet: packet.description)
            data += reply.dropFirst()
            if reply[0] == UInt8(ascii: "l") { return data }
            guard reply[0] == UInt8(ascii: "m"), reply.count > 1 else {
                throw error(.malformedReply("qXfer reply must start with m or l"), operation, packet: packet.description)
            }
            if data.count > limit { throw error(.malformedReply("qXfer object over \(limit) bytes"), operation, packet: packet.description) }
        }
        throw error(.malformedReply("qXfer object not complete after \(GdbClient.maximumXferReplies) replies"), operation,
                    packet: "qXfer:\(object):read:\(annex):\(String(data.count, radix: 16))")
    }

    /// Replies one `qXfer` read may take.
    static let maximumXferReplies = 4096
    /// Bytes one target-description document may have (QEMU's largest is about 30 KB).
    static let maximumTargetDescriptionSize = 1 << 20

    private func readTargetDescription() throws(GdbError) -> RegisterMap {
        do throws(GdbError) {
            return try TargetDescriptionParser.registerMap(root: "target.xml") { (annex) throws(GdbError) -> String in
                String(decoding: try readXfer(object: "features", annex: annex, operation: "read target description",
                                              limit: GdbClient.maximumTargetDescriptionSize), as: UTF8.self)
            }
        } catch {
            // The parser knows no connection: give its errors the packet ring too.
            var error = error
            if error.recentPackets.isEmpty { error.recentPackets = connection.recentPackets }
            throw error
        }
    }
}

/// Counts interrupt callers waiting for the client's lock.
final class InterruptQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var waiting = 0

    func enter() { lock.lock(); waiting += 1; lock.unlock() }
    func leave() { lock.lock(); waiting -= 1; lock.unlock() }
    var isEmpty: Bool { lock.lock(); defer { lock.unlock() }; return waiting == 0 }
}
