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
        for index in faults.indices {
            let spec = faults[index].spec
            switch spec.trigger {
            case .now: continue
            case .entry(_, let address): guard address == pc else { continue }
            case .watch(_, _, let address, let length):
                guard let watchAddress, watchAddress >= address, watchAddress < address + UInt64(length) else { continue }
            }
            isOwnStop = true
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
