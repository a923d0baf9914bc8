import CDwarf

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

    public init(row: LineRange, inlinedScopes: [UInt64] = [], callSites: [SourceLocation?] = [],
                functionEntry: UInt64? = nil) {
        self.row = row
        self.inlinedScopes = inlinedScopes
        self.callSites = callSites.isEmpty ? inlinedScopes.map { _ in nil } : callSites
        self.functionEntry = functionEntry
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
                                functionEntry: scopes.first { !$0.isInlined }?.lowPC)
    }

    /// Where `break FUNCTION` stops for the function that begins at `entry`, as gdb
    /// 13 picks it: the first row flagged `prologue_end` in the function (in the
    /// entry row's file), else the second row of the function (the end of its first
    /// line: `skip_prologue_using_sal`), else `entry`. Without line information: `entry`.
    public func postPrologueAddress(entry: UInt64) -> UInt64 {
        guard hasDebugInfo else { return entry }
        lock.lock(); defer { lock.unlock() }
        let found = try? firstAnswer(at: entry) { unit throws(DebugInfoError) -> (LineTable, Int)? in
            let table = try lineTable(of: unit)
            return table.rowIndex(at: entry).map { (table, $0) }
        }
        guard let (table, first) = found ?? nil else { return entry }
        let end = functionEnd(containing: entry) ?? UInt64.max
        let file = table.rows[first].file
        var index = first
        var secondRow: UInt64?
        while index < table.rows.count, table.rows[index].address < end, !table.rows[index].endSequence {
            let row = table.rows[index]
            if row.prologueEnd && row.file == file { return row.address }
            if secondRow == nil, row.address > entry { secondRow = row.address }
            index += 1
        }
        return secondRow ?? entry
    }

    /// The end of the out-of-line function's range that holds `address` (lock held).
    private func functionEnd(containing address: UInt64) -> UInt64? {
        guard let unit = try? unit(containing: address), let functions = try? functionIndex(of: unit) else { return nil }
        return functions.filter { $0.range.contains(address) }.min { $0.range.count < $1.range.count }?.range.upperBound
    }
}
