import GdbRemote
import Foundation
import Inspect

/// `DebugTarget` backed by the GdbRemote client: the only place MmdbgCore
/// touches the protocol module, and all it does is translate names and errors.
public final class GdbTarget: DebugTarget {
    /// The protocol client (benchmarks and tests reach the stub through it).
    public let client: GdbClient
    /// Guest memory: physical reads inside RAM straight from the host (the
    /// launched QEMU's RAM file, or process_vm_readv) while the target is
    /// stopped; everything else, and every write, through the stub.
    public let directMemory: DirectPhysicalMemorySource
    /// The stub's vCPUs (thread numbers), asked once per connection.
    private var cachedCPUs: [Int]?
    public private(set) var lastProtocolError: ProtocolErrorRecord?

    /// A target over `client`; the memory path is chosen now (the target must be stopped).
    /// `direct: false` keeps every read on the stub.
    public init(client: GdbClient, direct: Bool = true, launched: LaunchedRAMFile? = nil, qemuPID: Int32? = nil,
                ramFile: RAMFileArgument? = nil) {
        self.client = client
        let stub = GdbMemorySource(client: client)
        self.directMemory = direct
            ? DirectMemorySelector.select(client: client, stub: stub, launched: launched, qemuPID: qemuPID, ramFile: ramFile)
            : DirectPhysicalMemorySource(stub: stub, direct: nil, fallbackReason: "direct reads off (--memory gdbstub)",
                                         targetIsStopped: true, stubIsStopped: { [weak client] in client?.state == .stopped })
    }

    /// Connects to the request's gdbstub and chooses how guest RAM is read.
    public static func connect(_ request: ConnectRequest, timeout: Double = 5) throws(CommandError) -> GdbTarget {
        guard let address = GdbAddress(parsing: request.address) else {
            throw .failed("\"\(CommandError.clip(request.address))\" is not HOST:PORT or a Unix socket path")
        }
        var ramFile: RAMFileArgument?
        if let text = request.ramFile {
            do throws(DirectMemoryUnavailable) { ramFile = try RAMFileArgument(parsing: text) } catch {
                throw .failed("--ram-file: \(error.description)")
            }
        }
        let launched = request.launched.flatMap { qemu in
            qemu.sharedRAM.map { LaunchedRAMFile(descriptor: $0.fileDescriptor, size: $0.size, backendID: $0.backendID,
                                                 qemuPID: qemu.pid) }
        }
        do throws(GdbError) {
            return GdbTarget(client: try GdbClient.connect(to: address, timeout: timeout), direct: request.directMemory,
                             launched: launched,
                             qemuPID: request.qemuPID, ramFile: ramFile)
        } catch {
            throw GdbTarget.translate(error)
        }
    }

    /// Connects to `HOST:PORT`, `:PORT` or a Unix socket path (memory: found from the socket's peer, else the stub).
    public static func connect(to text: String, timeout: Double = 5) throws(CommandError) -> GdbTarget {
        try connect(ConnectRequest(address: text), timeout: timeout)
    }

    public var registerNames: [String] { client.registerMap.registers.map(\.name) }

    public var memory: WritableMemorySource { directMemory }

    public var memoryPath: String {
        directMemory.fallbackReason.map { "\(directMemory.path) (\($0))" } ?? directMemory.path
    }

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
        guard physical else { return try call { () throws(GdbError) in try client.readMemory(at: address, count: count) } }
        do throws(MemoryError) {
            return try directMemory.read(MemoryRequest(.physical, address: address, length: count))
        } catch {
            throw .target(error.description)
        }
    }

    public func writeMemory(at address: UInt64, bytes: [UInt8]) throws(CommandError) {
        memoryWrites += 1
        try call { () throws(GdbError) in try client.writeMemory(at: address, bytes: bytes) }
    }

    public private(set) var memoryWrites = 0

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
        try requireDirection(direction)
        directMemory.targetResumed()
        if direction == .reverse {
            try call { () throws(GdbError) in try client.reverseResume() }
        } else {
            try call { () throws(GdbError) in try client.resume() }
        }
    }

    public func waitForStop(timeout: Double) throws(CommandError) -> StopEvent? {
        do throws(GdbError) {
            let stop = GdbTarget.event(try client.waitForStop(timeout: timeout))
            directMemory.targetStopped()
            return stop
        } catch {
            if case .timedOut = error.kind { return nil }
            throw translating(error)
        }
    }

    public func stepInstruction(_ direction: RunDirection) throws(CommandError) -> StopEvent {
        try requireDirection(direction)
        directMemory.targetResumed()
        let stop = GdbTarget.event(try call { () throws(GdbError) in
            direction == .reverse ? try client.reverseStep() : try client.step()
        })
        directMemory.targetStopped()
        return stop
    }

    public func interrupt(timeout: Double) throws(CommandError) -> StopEvent {
        let stop = GdbTarget.event(try call { () throws(GdbError) in try client.interrupt(timeout: timeout) })
        directMemory.targetStopped()
        return stop
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

    public func cpuNumbers() throws(CommandError) -> [Int] {
        if let cachedCPUs { return cachedCPUs }
        let threads = try call { () throws(GdbError) in try client.threads() }
        let numbers = threads.map(\.thread).filter { $0 > 0 }.sorted()
        cachedCPUs = numbers.isEmpty ? [1] : numbers  // the vCPU count is fixed for a connection
        return cachedCPUs!
    }

    public func selectCPU(_ cpu: Int) throws(CommandError) {
        guard try cpuNumbers().contains(cpu) else {
            throw .unavailable("no CPU \(cpu): the target has CPUs \(try cpuNumbers().map(String.init).joined(separator: ", "))")
        }
        let process = client.lastStopReason?.thread?.process ?? 1
        try call { () throws(GdbError) in try client.selectThread(ThreadID(process: process, thread: cpu)) }
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

    public var canReverse: Bool { client.canReverse }

    private func requireDirection(_ direction: RunDirection) throws(CommandError) {
        guard direction == .forward || client.canReverse else {
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
        if let boundary = stop.replayBoundary { return .recordingBoundary(atStart: boundary == .begin) }
        if let watch = stop.watchpoint { return .watchpoint(kind(watch.kind), address: watch.address) }
        switch stop.kind {
        case .signal(let signal): return .signal(Int(signal))
        case .exited(let status): return .exited(Int(status))
        case .terminated(let signal): return .terminated(Int(signal))
        }
    }
}
