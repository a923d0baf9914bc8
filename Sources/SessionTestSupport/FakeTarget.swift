import Inspect
import MmdbgCore
import TestSupport

/// A `DebugTarget` double: a CPU that walks a scripted path of PCs, stops
/// at inserted breakpoints and scripted events, and answers every call from
/// memory. Run control, breakpoint bookkeeping and stop classification are
/// tested on it in milliseconds; the QEMU tests prove the real thing.
///
///     let target = FakeTarget(path: [0x1000, 0x1004, 0x2000, 0x2004, 0x1008])
///     target.events[4] = .exit(0)
///     let session = Session(services: .fake([":1": target]))
///     try session.attach(to: ":1")
///
/// Semantics, modelled on QEMU's stub:
/// - `resume` first steps over a code breakpoint at the PC (as GdbClient does),
///   then runs along `path` until the next PC with a code breakpoint, a
///   scripted event, or the path's end (which powers off: `exited(0)`).
/// - A `watch` event stops only if a watchpoint covering its address is inserted.
/// - `hang` keeps the target running until `interrupt` (SIGINT at that PC).
/// - `disconnect` breaks the connection: that call and every later one throw `connectionLost`.
public final class FakeTarget: DebugTarget {
    /// Something that happens when the CPU reaches a path index.
    public enum Event: Equatable {
        /// QEMU powers off with this status.
        case exit(Int)
        /// QEMU is killed by this signal.
        case killed(Int)
        /// An access to `address` (stops if a watchpoint covers it).
        case watch(BreakpointKind, address: UInt64)
        /// The guest runs on and never stops by itself.
        case hang
        /// The stub goes away.
        case disconnect
    }

    /// The PCs the CPU visits, in order.
    public var path: [UInt64]
    /// Events by path index.
    public var events: [Int: Event] = [:]
    /// Registers the CPU sets on reaching a path index (a call's x30, a prologue's SP).
    public var registersAt: [Int: [String: UInt64]] = [:]
    /// Where on `path` the CPU is.
    public private(set) var position = 0
    public var registers: [String: UInt64]
    public let ram = SyntheticMemory()
    /// Each `waitForStop` call returns nil this many times before the stop (a slow target).
    public var pollsBeforeStop = 0
    /// The CPU number reported with each stop (nil: the stub names none).
    public var cpu: Int? = 1
    /// SMP: the CPU (1-based) that reaches each path index, overriding `cpu` there.
    public var cpuAt: [Int: Int] = [:]
    /// The CPUs the target has (1-based, as a stub numbers threads), and the one selected.
    public var cpuList: [Int] = [1]
    public private(set) var selectedCPUNumber: Int?
    public private(set) var insertedStopPoints: [StopPoint] = []
    public private(set) var runState: TargetRunState = .stopped
    public private(set) var lastStop: StopEvent?
    public private(set) var lastProtocolError: ProtocolErrorRecord?
    /// Every call the session made, in order (`resume`, `step`, `insert break 0x1000`…).
    public private(set) var log: [String] = []
    private var pending: StopEvent?
    private var pollsLeft = 0
    private var hanging = false
    private var gone: CommandError?
    /// The CPU reached a `disconnect` event: the next delivery breaks the connection.
    private var disconnecting = false

    public init(path: [UInt64], registers: [String: UInt64] = [:]) {
        precondition(!path.isEmpty, "a fake target needs at least one PC")
        self.path = path
        var all: [String: UInt64] = ["sp": 0x8_0000, "cpsr": 0x3c5, "SCTLR": 0, "TCR_EL1": 0, "MAIR_EL1": 0,
                                     "TTBR0_EL1": 0, "TTBR1_EL1": 0]
        for n in 0...30 { all["x\(n)"] = 0 }
        for (name, value) in registers { all[name] = value }
        self.registers = all
        self.registers["pc"] = path[0]
        ram.virtualToPhysical = { $0 }  // MMU off: identity
    }

    // MARK: DebugTarget

    public var registerNames: [String] { registers.keys.sorted() }

    public var memory: WritableMemorySource { ram }

    public var memoryPath: String { "fake (synthetic memory)" }

    public var lastStopCPU: Int? { lastStop == nil ? nil : cpuAt[position] ?? cpu }

    public func cpuNumbers() throws(CommandError) -> [Int] { cpuList }

    public func selectCPU(_ number: Int) throws(CommandError) {
        guard cpuList.contains(number) else { throw .unavailable("the fake target has no CPU \(number)") }
        log.append("select cpu \(number)")
        selectedCPUNumber = number
    }

    public func readRegisters(_ names: [String]) throws(CommandError) -> [UInt64] {
        try alive()
        var values: [UInt64] = []
        for name in names {
            guard let value = registers[name] ?? registers.first(where: { $0.key.lowercased() == name.lowercased() })?.value
            else { throw .unknownRegister(name) }
            values.append(value)
        }
        return values
    }

    public func writeRegister(_ name: String, value: UInt64) throws(CommandError) {
        try stopped("write register")
        guard registers[name] != nil else { throw .unknownRegister(name) }
        registers[name] = value
        log.append("write \(name)=\(Hex.format(value))")
    }

    public func readMemory(at address: UInt64, count: Int, physical: Bool) throws(CommandError) -> [UInt8] {
        try stopped("read memory")
        do throws(MemoryError) {
            return try ram.read(MemoryRequest(physical ? .physical : .virtual, address: address, length: count))
        } catch {
            throw .target(error.description)
        }
    }

    public func writeMemory(at address: UInt64, bytes: [UInt8]) throws(CommandError) {
        try stopped("write memory")
        ram.store(bytes, at: address)
        log.append("write memory \(Hex.format(address)) \(bytes.count)")
    }

    public func insertBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError) {
        try stopped("insert breakpoint")
        insertedStopPoints.append(StopPoint(kind: kind, address: address, length: length))
        log.append("insert \(kind.rawValue) \(Hex.format(address))")
    }

    public func removeBreakpoint(_ kind: BreakpointKind, at address: UInt64, length: Int) throws(CommandError) {
        try stopped("remove breakpoint")
        guard let index = insertedStopPoints.firstIndex(of: StopPoint(kind: kind, address: address, length: length)) else {
            throw .target("stub answered error E22 (no such breakpoint)")
        }
        insertedStopPoints.remove(at: index)
        log.append("remove \(kind.rawValue) \(Hex.format(address))")
    }

    public func resume(_ direction: RunDirection) throws(CommandError) {
        try stopped("resume")
        guard direction == .forward else { throw .unavailable("reverse execution needs a recording") }
        log.append("resume")
        runState = .running
        pollsLeft = pollsBeforeStop
        // A breakpoint at the PC is stepped over first, as the real client does;
        // a breakpoint on the instruction after it then stops at once.
        if insertedStopPoints.contains(where: { $0.covers(path[position]) }) {
            pending = advance(stopAtBreakpoints: false)
                ?? (insertedStopPoints.contains { $0.covers(path[position]) } ? .signal(5) : run())
        } else {
            pending = run()
        }
        if pending == nil { hanging = true }
    }

    public func waitForStop(timeout: Double) throws(CommandError) -> StopEvent? {
        try alive()
        guard runState == .running else { throw .target("waitForStop: not allowed while the target is \(runState)") }
        if hanging { return nil }
        if pollsLeft > 0 {
            pollsLeft -= 1
            return nil
        }
        return try deliver()
    }

    public func stepInstruction(_ direction: RunDirection) throws(CommandError) -> StopEvent {
        try stopped("step")
        guard direction == .forward else { throw .unavailable("reverse execution needs a recording") }
        log.append("step")
        runState = .running
        pending = advance(stopAtBreakpoints: false) ?? .signal(5)
        return try deliver()
    }

    public func interrupt(timeout: Double) throws(CommandError) -> StopEvent {
        try alive()
        if runState == .stopped, let lastStop { return lastStop }
        log.append("interrupt")
        hanging = false
        if pending == nil || pollsLeft > 0 { pending = .signal(2) }
        pollsLeft = 0
        return try deliver()
    }

    public func monitor(_ command: String) throws(CommandError) -> String {
        try alive()
        return "fake monitor: \(command)\n"
    }

    public func detach() {
        log.append("detach")
        runState = .gone
    }

    public func close() {
        log.append("close")
        runState = .gone
    }

    // MARK: the scripted CPU

    /// Moves one instruction; returns a stop if the new position has an event that stops.
    private func advance(stopAtBreakpoints: Bool) -> StopEvent? {
        guard position + 1 < path.count else { return .exited(0) }
        position += 1
        registers["pc"] = path[position]
        for (name, value) in registersAt[position] ?? [:] { registers[name] = value }
        if let stop = event(at: position) { return stop }
        if stopAtBreakpoints, insertedStopPoints.contains(where: { $0.covers(path[position]) }) { return .signal(5) }
        return nil
    }

    /// Runs until something stops the CPU; nil: it runs forever (`hang`).
    private func run() -> StopEvent? {
        while true {
            if case .hang? = events[position] { return nil }
            if let stop = advance(stopAtBreakpoints: true) { return stop }
        }
    }

    private func event(at index: Int) -> StopEvent? {
        switch events[index] {
        case nil, .hang?: return nil
        case .exit(let status)?: return .exited(status)
        case .killed(let signal)?: return .terminated(signal)
        case .disconnect?:
            disconnecting = true
            return .signal(5)
        case .watch(let kind, let address)?:
            let watched = insertedStopPoints.contains {
                $0.kind.isWatchpoint && (kind == $0.kind || $0.kind == .accessWatch)
                    && address >= $0.address && address < $0.address &+ UInt64($0.length)
            }
            return watched ? .watchpoint(kind, address: address) : nil
        }
    }

    private func deliver() throws(CommandError) -> StopEvent {
        let stop = pending ?? .signal(5)
        pending = nil
        if disconnecting {
            let error = CommandError.connectionLost("stub disconnected: connection reset by peer")
            gone = error
            runState = .gone
            lastProtocolError = ProtocolErrorRecord(message: error.description, operation: "waitForStop",
                                                    recentPackets: ["-> c", "<- (connection closed)"])
            throw error
        }
        lastStop = stop
        runState = stop.targetIsGone ? .gone : .stopped
        return stop
    }

    private func alive() throws(CommandError) {
        if let gone { throw gone }
        if runState == .gone, let lastStop, lastStop.targetIsGone { throw .qemuExited(lastStop.summary) }
    }

    private func stopped(_ operation: String) throws(CommandError) {
        try alive()
        guard runState == .stopped else { throw .target("\(operation): not allowed while the target is \(runState)") }
    }
}

extension SessionServices {
    /// The standard services with connections to fake targets by address
    /// (`attach ADDRESS` to an unknown one fails like a refused connection).
    public static func fake(_ targets: [String: FakeTarget]) -> SessionServices {
        var services = SessionServices.standard
        services.connect = { request throws(CommandError) in
            guard let target = targets[request.address] else {
                throw .failed("cannot connect to \(request.address): connection refused")
            }
            return target
        }
        return services
    }
}
