/// The breakpoints and watchpoints the user set, numbered like gdb's.
public struct BreakpointTable: Sendable {
    public struct Entry: Equatable, Sendable {
        public var id: Int
        public var kind: BreakpointKind
        public var address: UInt64
        public var length: Int
        /// Removed after its first hit (`tbreak`).
        public var temporary: Bool
        public var hits: Int
        /// What the user typed (`map_page`, `$pc+4`).
        public var expression: String
        /// Who set it and why: the run-control engine names a stop by it.
        public var role: Role = .user
        /// Only a stop on this CPU (0-based) counts (`break … --cpu N`, gdb's `break … thread N+1`);
        /// run control resumes past a hit on another CPU.
        public var cpu: Int? = nil
        /// `watch EXPR` (gdb's `watch -l`): run control steps over each write and stops after it only
        /// when it changed the watched bytes, as gdb does.
        public var stopsOnChangeOnly = false
    }

    /// Why a breakpoint exists.
    public enum Role: Equatable, Sendable {
        /// The user's (`break`, `tbreak`, `watch`…).
        case user
        /// `finish`'s temporary breakpoint at the return address: its hit is a `returned` stop.
        case finishReturn
    }

    /// In creation order.
    public private(set) var entries: [Entry] = []
    private var nextID = 1

    public init() {}

    /// Records a breakpoint the target accepted; returns it with its number.
    public mutating func add(kind: BreakpointKind, address: UInt64, length: Int, temporary: Bool, expression: String,
                             role: Role = .user) -> Entry {
        let entry = Entry(id: nextID, kind: kind, address: address, length: length, temporary: temporary, hits: 0,
                          expression: expression, role: role)
        nextID += 1
        entries.append(entry)
        return entry
    }

    /// Forgets breakpoint `id`; returns it if it existed.
    public mutating func remove(id: Int) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return nil }
        return entries.remove(at: index)
    }

    /// Makes write watchpoint `id` stop only when the value changes (`watch EXPR`).
    public mutating func watchValue(id: Int) {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return }
        entries[index].stopsOnChangeOnly = true
    }

    /// Sets the CPU filter of breakpoint `id`.
    public mutating func restrict(id: Int, toCPU cpu: Int?) {
        guard let index = entries.firstIndex(where: { $0.id == id }) else { return }
        entries[index].cpu = cpu
    }

    /// True when code breakpoints sit at `pc` but every one is for another CPU than `cpu`
    /// (0-based): the stop is none of the user's business.
    public func onlyOtherCPUsBreakAt(pc: UInt64, cpu: Int) -> Bool {
        let here = entries.filter { !$0.kind.isWatchpoint && $0.address == pc }
        return !here.isEmpty && here.allSatisfy { $0.cpu != nil && $0.cpu != cpu }
    }

    /// Records a hit at `pc` (code breakpoints) or on `watchAddress`; returns the entry.
    public mutating func recordHit(pc: UInt64, watchAddress: UInt64?) -> Entry? {
        let index: Int?
        if let watchAddress {
            index = entries.firstIndex { $0.kind.isWatchpoint && watchAddress >= $0.address && watchAddress < $0.address + UInt64($0.length) }
        } else {
            index = entries.firstIndex { !$0.kind.isWatchpoint && $0.address == pc }
        }
        guard let index else { return nil }
        entries[index].hits += 1
        return entries[index]
    }
}
