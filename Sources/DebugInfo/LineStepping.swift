import CDwarf
import Foundation

/// What a source-line stepping engine needs to know about one PC: the line-table
/// row it is in, the inlined scopes that hold it and the out-of-line function.
public struct LineStepPosition: Equatable, Sendable {
    /// The row holding the PC (`[start, end)`; gdb's `find_pc_line`).
    public var row: LineRange
    /// The lowest address of each inlined scope holding the PC, innermost first: two
    /// positions are in the same inlined frame when these agree.
    public var inlinedScopes: [UInt64]
    /// Where each of those inlined scopes was called from (same order; nil when the DWARF does not say).
    public var callSites: [SourceLocation?]
    /// The lowest address of the out-of-line function holding the PC (nil: no function scope, e.g. assembly).
    public var functionEntry: UInt64?
    /// For each inlined scope: the PC begins one of its blocks of code (the address before it is not
    /// the scope's: gdb's `block_starting_point_at`). nil: where the scope's lowest address is the PC.
    public var scopeStarts: [Bool]?

    public init(row: LineRange, inlinedScopes: [UInt64] = [], callSites: [SourceLocation?] = [],
                functionEntry: UInt64? = nil, scopeStarts: [Bool]? = nil) {
        self.row = row
        self.inlinedScopes = inlinedScopes
        self.callSites = callSites.isEmpty ? inlinedScopes.map { _ in nil } : callSites
        self.functionEntry = functionEntry
        self.scopeStarts = scopeStarts
    }

    /// True when the PC `pc` begins a block of code of inlined scope `index`.
    public func scopeStarts(_ index: Int, at pc: UInt64) -> Bool {
        scopeStarts?[index] ?? (inlinedScopes[index] == pc)
    }
}

extension DebugInfoFile {
    /// The stepping view of `pc`; nil when no line-table row covers it (no line
    /// information: a step there is by function, a call there is stepped over).
    public func stepPosition(at pc: UInt64) -> LineStepPosition? {
        guard hasDebugInfo, let row = try? lineRange(at: pc), row.location.line > 0 else { return nil }
        let scopes = (try? scopes(at: pc)) ?? []
        let inlined = scopes.prefix { $0.isInlined }
        return LineStepPosition(row: row, inlinedScopes: inlined.map { $0.lowPC ?? 0 },
                                callSites: inlined.map(\.callSite),
                                functionEntry: scopes.first { !$0.isInlined }?.lowPC,
                                scopeStarts: inlined.map { scope in
                                    scope.ranges.contains { $0.contains(pc) } && !scope.ranges.contains { $0.contains(pc &- 1) }
                                })
    }

    /// Where `break FUNCTION` stops for the function that begins at `entry`, as gdb 13 picks it
    /// (`skip_prologue_sal`): the first row flagged `prologue_end` in the function (in the entry
    /// row's file); else, as `aarch64_analyze_prologue` (Swift is no producer gdb trusts for line
    /// notes), the first instruction that is not frame setup, looking no further than the end of
    /// the function's first line, and from the middle of a line on to the next line's start.
    /// Without line information: `entry`.
    public func postPrologueAddress(entry: UInt64) -> UInt64 {
        guard hasDebugInfo else { return entry }
        var marked: UInt64?
        var firstLineEnd: UInt64?
        var end = UInt64.max
        do {
            lock.lock(); defer { lock.unlock() }
            let found = try? firstAnswer(at: entry) { unit throws(DebugInfoError) -> (LineTable, Int)? in
                let table = try lineTable(of: unit)
                return table.rowIndex(at: entry).map { (table, $0) }
            }
            guard let (table, first) = found ?? nil else { return entry }
            end = functionEnd(containing: entry) ?? UInt64.max
            let file = table.rows[first].file
            var index = first
            while index < table.rows.count, table.rows[index].address < end, !table.rows[index].endSequence {
                let row = table.rows[index]
                if row.prologueEnd && row.file == file { marked = row.address; break }
                if firstLineEnd == nil, row.address > entry { firstLineEnd = row.address }
                index += 1
            }
        }
        if let marked { return marked }
        let analysed = analysePrologue(entry: entry, firstLineEnd: firstLineEnd, functionEnd: end)
        // In the middle of a line: on to the next line's start, when that is still in the function.
        if analysed != entry, let row = try? lineRange(at: analysed), row.start != analysed,
           row.end > analysed, row.end < end {
            return row.end
        }
        return analysed
    }

    /// gdb's `aarch64_analyze_prologue`, roughly: the first instruction that does not set up the frame.
    private func analysePrologue(entry: UInt64, firstLineEnd: UInt64?, functionEnd end: UInt64) -> UInt64 {
        let limit = min(firstLineEnd ?? entry &+ 128, end == .max ? entry &+ 128 : end &- 4)
        guard limit > entry, let bytes = fileBytes(at: entry, count: Int(limit - entry)),
              let instructions = try? disassemble(bytes, at: entry) else { return entry }
        var stackSet = false
        for instruction in instructions {
            let operands = instruction.operands.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let destination = operands.first ?? ""
            switch instruction.mnemonic {
            case "stp", "str", "stur":
                guard instruction.operands.contains("[sp") || instruction.operands.contains("[x29") else { return instruction.address }
                if instruction.operands.hasSuffix("]!") && instruction.operands.contains("[sp") { stackSet = true }
            case "sub", "add":
                guard destination == "sp" || destination == "x29" else { return instruction.address }
                if destination == "sp" { stackSet = true }
            case "mov" where destination == "x29" && operands.dropFirst().first == "sp":
                break
            case "mov", "movz", "movn", "orr":
                if stackSet { return instruction.address }
            case "adrp", "paciasp", "bti", "hint", "nop":
                break
            default:
                return instruction.address
            }
        }
        return limit
    }

    /// The first address of the function that begins at `entry` with a source line, when its first
    /// rows say "no line" (line 0: Swift's compiler-generated prologues); nil without one in the function.
    public func firstLineAddress(entry: UInt64) -> UInt64? {
        guard hasDebugInfo else { return nil }
        lock.lock(); defer { lock.unlock() }
        guard let units = try? units(containing: entry) else { return nil }
        for unit in units {
            guard let functions = try? functionIndex(of: unit),
                  let function = functions.filter({ $0.range.contains(entry) }).min(by: { $0.range.count < $1.range.count }),
                  let table = try? lineTable(of: unit) else { continue }
            if let row = table.rows.first(where: { function.range.contains($0.address) && !$0.endSequence && $0.isStatement }) {
                return row.address
            }
        }
        return nil
    }

    /// The end of the out-of-line function's range that holds `address` (lock held).
    private func functionEnd(containing address: UInt64) -> UInt64? {
        guard let unit = try? unit(containing: address), let functions = try? functionIndex(of: unit) else { return nil }
        return functions.filter { $0.range.contains(address) }.min { $0.range.count < $1.range.count }?.range.upperBound
    }
}
