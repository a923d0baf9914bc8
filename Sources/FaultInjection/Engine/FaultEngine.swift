import SeededRandom
import Foundation
import Inspect
import MmdbgCore

/// Arms faults on a stopped target and applies them while driving it. The
/// engine owns its breakpoints and watchpoints in the session's target,
/// which steps over them on resume (QEMU re-reports a stop point at the PC
/// forever otherwise). Every firing runs with the target stopped and lands
/// in `trace`.
public final class FaultEngine {
    /// A fault with its counters.
    public struct Armed: Sendable {
        public let id: Int
        public let spec: FaultSpec
        /// Eligible hits so far.
        public fileprivate(set) var hits = 0
        public fileprivate(set) var fired = 0
        /// The stop point was lifted (the selection can fire no more).
        public fileprivate(set) var exhausted = false
        fileprivate var generator: SeededGenerator
        /// The caller filter's address range, resolved once at arming.
        fileprivate let callerRange: Range<UInt64>?
    }

    public private(set) var faults: [Armed] = []
    public private(set) var trace: [FaultHit] = []
    private var nextID = 1
    /// The id the next armed fault gets.
    public var nextFaultID: Int { nextID }
    /// Stop points the engine inserted, by (kind, address): how many owners each has.
    private var owned: [StopPoint: Int] = [:]
    /// Counters that watch a function's entry without acting (a sweep's golden run, its oracles).
    public private(set) var observers: [Observer] = []

    /// One watched entry: every hit that passes the pid filter, with task and call path.
    public struct Observer: Sendable {
        public let address: UInt64
        public let pid: Int64?
        public fileprivate(set) var hits: [ObservedHit] = []
    }

    /// A hit an observer saw: the task, the caller (x30) and its caller (the
    /// return address in the frame record x29 points at), for pruning.
    public struct ObservedHit: Sendable, Equatable, Codable {
        public var hit: Int
        public var pid: Int64?
        public var caller: UInt64
        public var grandCaller: UInt64
        /// Contract calls the hit happens inside (what a run failing it must watch return).
        public var enclosing: [PendingReturn] = []
    }
    /// The run is recorded by QEMU: each firing also notes QEMU's instruction count and its
    /// exact writes (`FaultHit.icount`, `.writes`), which a replay re-applies.
    public var recordsPositions = false

    public init() {}

    // MARK: arming

    /// Arms `spec` and inserts its stop point; returns the fault's id.
    @discardableResult
    public func arm(_ spec: FaultSpec, target: DebugTarget, elf: ELFFile?) throws(FaultInjectionError) -> Int {
        var callerRange: Range<UInt64>?
        if let caller = spec.selection.caller {
            guard let symbol = elf?.symbol(named: caller) else {
                throw .badFile(path: "inject", line: nil, reason: "no symbol \"\(caller)\" for --caller")
            }
            callerRange = symbol.address..<(symbol.address + max(symbol.size, 4))
        }
        if case .now = spec.trigger { throw .badFile(path: "inject", line: nil, reason: "`now` faults apply at once (applyNow)") }
        try insert(FaultEngine.stopPoint(spec.trigger), target: target)
        let armed = Armed(id: nextID, spec: spec, generator: SeededGenerator(seed: spec.selection.seed), callerRange: callerRange)
        nextID += 1
        faults.append(armed)
        return armed.id
    }

    /// Disarms one fault (or all when `id` is nil) and removes stop points nobody else owns.
    public func disarm(id: Int?, target: DebugTarget?) {
        let removed = faults.filter { id == nil || $0.id == id }
        faults.removeAll { id == nil || $0.id == id }
        for fault in removed where !fault.exhausted {
            if let target { release(FaultEngine.stopPoint(fault.spec.trigger), target: target) }
        }
    }

    static func stopPoint(_ trigger: FaultTrigger) -> StopPoint {
        switch trigger {
        case .now: return StopPoint(kind: .software, address: 0, length: 0)
        case .entry(_, let address): return StopPoint(kind: .software, address: address, length: 4)
        case .watch(let kind, _, let address, let length):
            let gdbKind: BreakpointKind = kind == .write ? .writeWatch : kind == .read ? .readWatch : .accessWatch
            return StopPoint(kind: gdbKind, address: address, length: length)
        }
    }

    func insert(_ point: StopPoint, target: DebugTarget) throws(FaultInjectionError) {
        if let count = owned[point] {
            owned[point] = count + 1
            return
        }
        // A user breakpoint may already sit there: share it rather than insert twice.
        let alreadyThere = target.insertedStopPoints.contains { $0.kind == point.kind && $0.address == point.address }
        if !alreadyThere {
            do throws(CommandError) { try target.insertBreakpoint(point.kind, at: point.address, length: point.length) } catch {
                throw .command(error)
            }
        }
        owned[point] = alreadyThere ? Int.max / 2 : 1  // shared: never removed by the engine
    }

    func release(_ point: StopPoint, target: DebugTarget) {
        guard let count = owned[point] else { return }
        if count > 1 {
            owned[point] = count - 1
            return
        }
        owned[point] = nil
        try? target.removeBreakpoint(point.kind, at: point.address, length: point.length)
    }

    /// Counts the entries of `address` (only while task `pid` runs, when given) without
    /// acting on them; returns the observer's index. Takes no fault id, so the faults
    /// armed by a scenario's lines keep the ids their trace pins.
    @discardableResult
    public func observe(address: UInt64, pid: Int64?, target: DebugTarget) throws(FaultInjectionError) -> Int {
        try insert(StopPoint(kind: .software, address: address, length: 4), target: target)
        observers.append(Observer(address: address, pid: pid))
        return observers.count - 1
    }

    /// Disarms every fault and observer and removes every stop point the engine inserted.
    public func removeAll(target: DebugTarget?) {
        if let target {
            for (point, count) in owned where count < Int.max / 2 {
                try? target.removeBreakpoint(point.kind, at: point.address, length: point.length)
            }
        }
        owned = [:]
        faults = []
        observers = []
        contracts = []
        pendingReturns = []
        balanceAtFiring = []
        violations = []
    }

    // MARK: pool-balance contracts

    /// A function whose failed call must leave the page pool as it found it (map_page,
    /// allocate_user_page: "a failed call leaves the pool as it found it").
    public struct BalanceContract: Sendable {
        public enum Failure: String, Sendable, Codable {
            /// x0 as a 32-bit status is -1.
            case minusOne = "-1"
            /// x0 is 0 (a null page or address).
            case zero = "0"
            func failed(_ x0: UInt64) -> Bool { self == .zero ? x0 == 0 : Int32(truncatingIfNeeded: x0) == -1 }
        }
        public let name: String
        public let address: UInt64
        public let failure: Failure
        public let poolFreePages: UInt64
        /// False: only calls handed over by `adoptBalance` are watched (no stop at every entry).
        public let watchesEntries: Bool
        public fileprivate(set) var entries = 0
    }

    /// A failed call that did not give its pages back.
    public struct BalanceViolation: Sendable, Equatable, Codable {
        public var function: String
        /// Which entry of the function (every task counted, as `go FUNC --count N` counts).
        public var entry: Int
        public var pid: Int64?
        public var freeAtEntry: UInt64
        public var freeAtReturn: UInt64
        public var description: String {
            "\(function) (entry \(entry), pid \(pid.map(String.init) ?? "-")) failed with \(Int64(bitPattern: freeAtEntry &- freeAtReturn)) page(s) not given back"
        }
    }

    /// A contract call that has not returned yet (addresses as `"0x…"` in JSON).
    public struct PendingReturn: Sendable, Hashable, Codable {
        public let contract: Int
        public let entry: Int
        public let returnAddress: UInt64
        public let sp: UInt64
        public let free: UInt64
        public let pid: Int64?

        enum CodingKeys: String, CodingKey { case contract, entry, returnAddress, sp, free, pid }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(contract, forKey: .contract)
            try container.encode(entry, forKey: .entry)
            try container.encodeAddress(returnAddress, forKey: .returnAddress)
            try container.encodeAddress(sp, forKey: .sp)
            try container.encode(free, forKey: .free)
            try container.encode(pid, forKey: .pid)
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            contract = try container.decode(Int.self, forKey: .contract)
            entry = try container.decode(Int.self, forKey: .entry)
            returnAddress = try container.decodeAddress(forKey: .returnAddress)
            sp = try container.decodeAddress(forKey: .sp)
            free = try container.decode(UInt64.self, forKey: .free)
            pid = try container.decodeIfPresent(Int64.self, forKey: .pid)
        }

        init(contract: Int, entry: Int, returnAddress: UInt64, sp: UInt64, free: UInt64, pid: Int64?) {
            self.contract = contract
            self.entry = entry
            self.returnAddress = returnAddress
            self.sp = sp
            self.free = free
            self.pid = pid
        }
    }

    public private(set) var contracts: [BalanceContract] = []
    public private(set) var pendingReturns: [PendingReturn] = []

    /// Calls to watch from the first firing on: a run hands over the calls its failed hit happens
    /// inside (from the golden run); adopted when the fault fires, when they are on the stack, so an
    /// earlier call returning to the same place with the same SP is not taken for them.
    public var balanceAtFiring: [PendingReturn] = []

    /// Takes over another engine's contract state (entry counts, calls not yet returned): a run
    /// restored from a snapshot continues the watch its golden boot started.
    public func adoptBalance(entries: [Int], pending: [PendingReturn], target: DebugTarget) throws(FaultInjectionError) {
        for (index, count) in entries.enumerated() where index < contracts.count { contracts[index].entries = count }
        for call in pending where call.contract < contracts.count {
            try insert(StopPoint(kind: .software, address: call.returnAddress, length: 4), target: target)
            pendingReturns.append(call)
        }
    }
    public private(set) var violations: [BalanceViolation] = []

    /// Watches every call of `name` at `address`: at entry the pool's free count
    /// (`poolFreePages`: the address of `mm_pool.free_pages`), at the return (same SP) x0 and the count again.
    public func watchBalance(name: String, address: UInt64, failure: BalanceContract.Failure, poolFreePages: UInt64,
                             watchEntries: Bool = true, target: DebugTarget) throws(FaultInjectionError) {
        if watchEntries { try insert(StopPoint(kind: .software, address: address, length: 4), target: target) }
        contracts.append(BalanceContract(name: name, address: address, failure: failure, poolFreePages: poolFreePages,
                                         watchesEntries: watchEntries))
    }

    /// Handles a stop at a contract's entry or at a pending return; true when it was one.
    private func handleBalance(pc: UInt64, kernel: KernelAccess, currentPID: inout Int64??) throws(FaultInjectionError) -> Bool {
        var own = false
        for index in contracts.indices where contracts[index].address == pc && contracts[index].watchesEntries {
            own = true
            contracts[index].entries += 1
            if currentPID == nil { currentPID = .some(try kernel.currentPID()) }
            let returnAddress = try readRegister("x30", kernel)
            let sp = try readRegister("sp", kernel)
            let free = try kernel.readWord(contracts[index].poolFreePages)
            try insert(StopPoint(kind: .software, address: returnAddress, length: 4), target: kernel.target)
            pendingReturns.append(PendingReturn(contract: index, entry: contracts[index].entries, returnAddress: returnAddress,
                                                sp: sp, free: free, pid: currentPID!))
        }
        if pendingReturns.contains(where: { $0.returnAddress == pc }) {
            own = true  // the engine's stop point, even when another call returns there (another SP)
            let sp = try readRegister("sp", kernel)
            if let index = pendingReturns.lastIndex(where: { $0.returnAddress == pc && $0.sp == sp }) {
                let pending = pendingReturns.remove(at: index)
                release(StopPoint(kind: .software, address: pc, length: 4), target: kernel.target)
                let contract = contracts[pending.contract]
                let x0 = try readRegister("x0", kernel)
                let free = try kernel.readWord(contract.poolFreePages)
                if contract.failure.failed(x0), free != pending.free {
                    violations.append(BalanceViolation(function: contract.name, entry: pending.entry, pid: pending.pid,
                                                       freeAtEntry: pending.free, freeAtReturn: free))
                }
            }
        }
        return own
    }

    // MARK: firing

    /// Applies every armed fault whose trigger matches this stop. Returns the
    /// firings (also appended to `trace`); empty when none matched or fired.
    /// `isOwnStop` is set when any fault's trigger matched (eligible or not).
    public func handleStop(pc: UInt64, watchAddress: UInt64?, kernel: KernelAccess,
                           symbolicate: (UInt64) -> String?) throws(FaultInjectionError) -> (isOwnStop: Bool, hits: [FaultHit]) {
        var isOwnStop = false
        var fired: [FaultHit] = []
        var currentPID: Int64??  // read lazily, once per stop
        var x30: UInt64?
        if watchAddress == nil, !contracts.isEmpty, try handleBalance(pc: pc, kernel: kernel, currentPID: &currentPID) {
            isOwnStop = true
        }
        for index in observers.indices where observers[index].address == pc && watchAddress == nil {
            isOwnStop = true
            if currentPID == nil { currentPID = .some(try kernel.currentPID()) }
            if let wanted = observers[index].pid, currentPID! != wanted { continue }
            if x30 == nil { x30 = try readRegister("x30", kernel) }
            let framePointer = try readRegister("x29", kernel)
            let grandCaller = framePointer == 0 ? 0 : ((try? kernel.readWord(framePointer &+ 8)) ?? 0)
            observers[index].hits.append(ObservedHit(hit: observers[index].hits.count + 1, pid: currentPID!, caller: x30!,
                                                     grandCaller: grandCaller, enclosing: pendingReturns))
        }
        for index in faults.indices {
            let spec = faults[index].spec
            switch spec.trigger {
            case .now: continue
            case .entry(_, let address): guard address == pc else { continue }
            case .watch(_, _, let address, let length):
                guard let watchAddress, watchAddress >= address, watchAddress < address + UInt64(length) else { continue }
            }
            isOwnStop = true
            if let wanted = spec.selection.cpu, (kernel.target.lastStopCPU ?? 1) - 1 != wanted { continue }
            if let wanted = spec.selection.pid {
                if currentPID == nil { currentPID = .some(try kernel.currentPID()) }
                guard currentPID! == wanted else { continue }
            }
            if let range = faults[index].callerRange {
                if x30 == nil { x30 = try readRegister("x30", kernel) }
                guard range.contains(x30!) else { continue }
            }
            guard !faults[index].exhausted else { continue }
            faults[index].hits += 1
            let hit = faults[index].hits
            let fires = spec.selection.fires(hit: hit, fired: faults[index].fired, generator: &faults[index].generator)
            if fires { faults[index].fired += 1 }
            if spec.selection.isExhausted(hits: hit, fired: faults[index].fired) {
                faults[index].exhausted = true
                release(FaultEngine.stopPoint(spec.trigger), target: kernel.target)
            }
            guard fires else { continue }
            if currentPID == nil { currentPID = .some(try kernel.currentPID()) }
            let (detail, icount, writes) = try applyNoting(spec.action, kernel: kernel)
            let entry = FaultHit(sequence: trace.count + 1, fault: faults[index].id, hit: hit, pid: currentPID!, pc: pc,
                                 location: symbolicate(pc), action: spec.action.description, detail: detail,
                                 icount: icount, writes: writes)
            trace.append(entry)
            fired.append(entry)
            if !balanceAtFiring.isEmpty {
                try adoptBalance(entries: [], pending: balanceAtFiring, target: kernel.target)
                balanceAtFiring = []
            }
        }
        return (isOwnStop, fired)
    }

    /// Applies `action` at once (the `now` trigger) and records it as fault `id`'s only hit.
    public func applyNow(_ spec: FaultSpec, kernel: KernelAccess, symbolicate: (UInt64) -> String?) throws(FaultInjectionError) -> FaultHit {
        let pid = try kernel.currentPID()
        let pc = try readRegister("pc", kernel)
        let (detail, icount, writes) = try applyNoting(spec.action, kernel: kernel)
        let id = nextID
        nextID += 1
        var armed = Armed(id: id, spec: spec, generator: SeededGenerator(seed: 0), callerRange: nil)
        armed.hits = 1
        armed.fired = 1
        armed.exhausted = true
        faults.append(armed)
        let entry = FaultHit(sequence: trace.count + 1, fault: id, hit: 1, pid: pid, pc: pc, location: symbolicate(pc),
                             action: spec.action.description, detail: detail, icount: icount, writes: writes)
        trace.append(entry)
        return entry
    }

    /// `apply`, and on a recorded run QEMU's instruction count before it and the writes it made.
    func applyNoting(_ action: FaultAction, kernel: KernelAccess) throws(FaultInjectionError)
        -> (detail: String, icount: UInt64?, writes: [InjectedWrite]?) {
        guard recordsPositions else { return (try apply(action, kernel: kernel), nil, nil) }
        let answer = try kernel.call { () throws(CommandError) in try kernel.target.monitor("info replay") }
        guard let icount = ReplayPosition.instructionCount(fromInfoReplay: answer, recording: true) else {
            throw .command(.target("QEMU did not give the instruction count of the firing: \(CommandError.clipForFaults(answer))"))
        }
        kernel.writeLog = []
        defer { kernel.writeLog = nil }
        let detail = try apply(action, kernel: kernel)
        return (detail, icount, kernel.writeLog)
    }

    /// Performs `action` on the stopped target; returns what changed.
    func apply(_ action: FaultAction, kernel: KernelAccess) throws(FaultInjectionError) -> String {
        switch action {
        case .forceReturn(let value):
            let returnAddress = try readRegister("x30", kernel)
            try writeRegister("x0", value, kernel)
            try writeRegister("pc", returnAddress, kernel)
            return "x0=\(Hex.format(value)) pc=\(Hex.format(returnAddress))"
        case .setRegisters(let writes):
            for write in writes { try writeRegister(write.name, write.value, kernel) }
            return writes.map { "\($0.name)=\(Hex.format($0.value))" }.joined(separator: " ")
        case .writeMemory(let address, let value, let size):
            let old = try kernel.readWord(address)
            try kernel.writeWord(address, value, size: size)
            let mask: UInt64 = size == 8 ? ~0 : (1 << UInt64(8 * size)) - 1
            return "[\(Hex.format(address))] \(Hex.format(old & mask))→\(Hex.format(value & mask))"
        case .corruptPTE(let pid, let va, let corruption):
            let (old, new) = try kernel.corruptPTE(pid: pid, virtualAddress: va, corruption)
            return "pte \(Hex.format(old))→\(Hex.format(new))"
        case .setBrk(let pid, let value):
            let old = try kernel.setBrk(pid: pid, to: value)
            return "brk \(Hex.format(old))→\(Hex.format(value))"
        case .skipInstruction:
            let pc = try readRegister("pc", kernel)
            try writeRegister("pc", pc &+ 4, kernel)
            return "pc=\(Hex.format(pc &+ 4))"
        }
    }

    private func readRegister(_ name: String, _ kernel: KernelAccess) throws(FaultInjectionError) -> UInt64 {
        try kernel.readRegister(name)
    }

    private func writeRegister(_ name: String, _ value: UInt64, _ kernel: KernelAccess) throws(FaultInjectionError) {
        try kernel.writeRegister(name, value)
    }
}

/// Addresses in mmdbg's JSON are `"0x…"` strings: JSON numbers lose the bits above 2^53.
extension KeyedEncodingContainer {
    mutating func encodeAddress(_ value: UInt64, forKey key: Key) throws {
        try encode("0x" + String(value, radix: 16), forKey: key)
    }
}

extension KeyedDecodingContainer {
    func decodeAddress(forKey key: Key) throws -> UInt64 {
        let text = try decode(String.self, forKey: key)
        guard text.hasPrefix("0x"), let value = UInt64(text.dropFirst(2), radix: 16) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not a 0x… address")
        }
        return value
    }
}
