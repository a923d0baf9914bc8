import GdbRemote
import Inspect

/// `DebugTarget` backed by the GdbRemote client: the only place MmdbgCore
/// touches the protocol module, and all it does is translate names and errors.
public final class GdbTarget: DebugTarget {
    /// The protocol client (benchmarks and tests reach the stub through it).
    public let client: GdbClient
    /// Guest memory through the stub, batched (Inspect's source).
    public let gdbMemory: GdbMemorySource
    public private(set) var lastProtocolError: ProtocolErrorRecord?

    public init(client: GdbClient) {
        self.client = client
        self.gdbMemory = GdbMemorySource(client: client)
    }

    /// Connects to `HOST:PORT`, `:PORT` or a Unix socket path.
    public static func connect(to text: String, timeout: Double = 5) throws(CommandError) -> GdbTarget {
        guard let address = GdbAddress(parsing: text) else {
            throw .failed("\"\(CommandError.clip(text))\" is not HOST:PORT or a Unix socket path")
        }
        do throws(GdbError) {
            return GdbTarget(client: try GdbClient.connect(to: address, timeout: timeout))
        } catch {
            throw GdbTarget.translate(error)
        }
    }

    public var registerNames: [String] { client.registerMap.registers.map(\.name) }

    public var memory: WritableMemorySource { gdbMemory }

    public func readRegisters(_ names: [String]) throws(CommandError) -> [UInt64] {
        let values = try call { () throws(GdbError) in try client.readRegisters(names) }
        // Callers index the answer by position: a short answer is an error here, not a trap there.
        guard values.count == names.count else {
            throw .target("asked for \(names.count) registers, the stub answered \(values.count)")
        }
        return values
    }

    public func writeRegister(_ name: String, value: UInt64) throws(CommandError) {
        try call { () throws(GdbError) in try client.writeRegister(name, value: value) }
    }

    public func readMemory(at address: UInt64, count: Int, physical: Bool) throws(CommandError) -> [UInt8] {
        try call { () throws(GdbError) in
            physical ? try client.qemu.readPhysicalMemory(at: address, count: count)
                : try client.readMemory(at: address, count: count)
        }
    }

    public func writeMemory(at address: UInt64, bytes: [UInt8]) throws(CommandError) {
        try call { () throws(GdbError) in try client.writeMemory(at: address, bytes: bytes) }
    }

    public func insertBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError) {
        try call { () throws(GdbError) in try client.setBreakpoint(GdbTarget.kind(kind), at: address, length: length) }
    }

    public func removeBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError) {
        try call { () throws(GdbError) in try client.removeBreakpoint(GdbTarget.kind(kind), at: address, length: length) }
    }

    public var insertedStopPoints: [StopPoint] {
        client.breakpoints.map { StopPoint(kind: GdbTarget.kind($0.kind), address: $0.address, length: $0.length) }
    }

    public func resume(_ direction: RunDirection) throws(CommandError) {
        try GdbTarget.forwardOnly(direction)
        try call { () throws(GdbError) in try client.resume() }
    }

    public func waitForStop(timeout: Double) throws(CommandError) -> StopEvent? {
        do throws(GdbError) {
            return GdbTarget.event(try client.waitForStop(timeout: timeout))
        } catch {
            if case .timedOut = error.kind { return nil }
            throw translating(error)
        }
    }

    public func stepInstruction(_ direction: RunDirection) throws(CommandError) -> StopEvent {
        try GdbTarget.forwardOnly(direction)
        return GdbTarget.event(try call { () throws(GdbError) in try client.step() })
    }

    public func interrupt(timeout: Double) throws(CommandError) -> StopEvent {
        GdbTarget.event(try call { () throws(GdbError) in try client.interrupt(timeout: timeout) })
    }

    public var runState: TargetRunState {
        switch client.state {
        case .stopped: return .stopped
        case .running, .interrupting: return .running
        default: return .gone
        }
    }

    public var lastStop: StopEvent? { client.lastStopReason.map(GdbTarget.event) }

    public var lastStopCPU: Int? {
        guard let thread = client.lastStopReason?.thread, thread.thread > 0 else { return nil }
        return thread.thread
    }

    public func monitor(_ command: String) throws(CommandError) -> String {
        try call { () throws(GdbError) in try client.monitor(command) }
    }

    public func detach() { try? client.detach() }

    public func close() { client.close() }

    // MARK: translation

    private func call<T>(_ body: () throws(GdbError) -> T) throws(CommandError) -> T {
        do throws(GdbError) { return try body() } catch { throw translating(error) }
    }

    /// Keeps the error with its packet ring for `show last-error`, then translates it.
    private func translating(_ error: GdbError) -> CommandError {
        lastProtocolError = ProtocolErrorRecord(message: error.description, operation: error.operation,
                                                recentPackets: error.recentPackets)
        return GdbTarget.translate(error)
    }

    /// GdbRemote's error as the command language reports it.
    public static func translate(_ error: GdbError) -> CommandError {
        switch error.kind {
        case .disconnected: return .connectionLost(error.description)
        case .connectFailed: return .failed(error.description)
        case .unknownRegister(let name): return .unknownRegister(name)
        default: return .target(error.description)
        }
    }

    private static func forwardOnly(_ direction: RunDirection) throws(CommandError) {
        guard direction == .forward else {
            throw .unavailable("reverse execution needs a recording replayed by QEMU (the stub offers no bs/bc)")
        }
    }

    static func kind(_ kind: BreakpointKind) -> GdbRemote.BreakpointKind {
        switch kind {
        case .software: return .software
        case .hardware: return .hardware
        case .writeWatch: return .writeWatchpoint
        case .readWatch: return .readWatchpoint
        case .accessWatch: return .accessWatchpoint
        }
    }

    static func kind(_ kind: GdbRemote.BreakpointKind) -> BreakpointKind {
        switch kind {
        case .software: return .software
        case .hardware: return .hardware
        case .writeWatchpoint: return .writeWatch
        case .readWatchpoint: return .readWatch
        case .accessWatchpoint: return .accessWatch
        }
    }

    static func event(_ stop: StopReason) -> StopEvent {
        if let watch = stop.watchpoint { return .watchpoint(kind(watch.kind), address: watch.address) }
        switch stop.kind {
        case .signal(let signal): return .signal(Int(signal))
        case .exited(let status): return .exited(Int(status))
        case .terminated(let signal): return .terminated(Int(signal))
        }
    }
}
