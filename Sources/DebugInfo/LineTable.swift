import CDwarf

/// A source position: the file as the line table names it (libdw joins a
/// relative name with the unit's directory), line and column (0 = unknown).
public struct SourceLocation: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
    }
    /// `file:line`.
    public var description: String { "\(file):\(line)" }
}

/// The addresses one line-table row covers: `[start, end)`, as gdb's `info line` reports them.
public struct LineRange: Equatable, Sendable {
    public var location: SourceLocation
    public var start: UInt64
    public var end: UInt64
    public var isStatement: Bool
    public init(location: SourceLocation, start: UInt64, end: UInt64, isStatement: Bool) {
        self.location = location
        self.start = start
        self.end = end
        self.isStatement = isStatement
    }
}

/// Where `break FILE:LINE` goes: the line asked for, or the next line in that
/// file that has code (`line` then differs from `requestedLine`).
public struct LineAddresses: Equatable, Sendable {
    public var file: String
    public var requestedLine: Int
    public var line: Int
    /// The first address of each block of code for `line` (sorted, unique).
    public var addresses: [UInt64]
}

/// One unit's decoded line table, sorted by address.
struct LineTable {
    struct Row {
        var address: UInt64
        var file: Int32
        var line: Int32
        var column: Int32
        var isStatement: Bool
        var endSequence: Bool
        /// `DW_LNS_set_prologue_end`: where the compiler says a function's body begins.
        var prologueEnd: Bool
    }
    var rows: [Row]
    var files: [String]

    init(unitDIE: inout Dwarf_Die, lowestCode: UInt64) throws(DebugInfoError) {
        var lines: OpaquePointer?
        var count = 0
        guard dwarf_getsrclines(&unitDIE, &lines, &count) == 0, let lines else {
            throw .corrupt("line table: \(DebugInfoFile.lastError())")
        }
        var rows: [Row] = []
        rows.reserveCapacity(count)
        var files: [String] = []
        var fileIndex: [String: Int32] = [:]
        for i in 0..<count {
            guard let line = dwarf_onesrcline(lines, i) else { continue }
            var address: Dwarf_Addr = 0
            var number: Int32 = 0, column: Int32 = 0
            var statement = false, end = false, prologueEnd = false
            guard dwarf_lineaddr(line, &address) == 0 else { continue }
            _ = dwarf_lineno(line, &number)
            _ = dwarf_linecol(line, &column)
            _ = dwarf_linebeginstatement(line, &statement)
            _ = dwarf_lineendsequence(line, &end)
            _ = dwarf_lineprologueend(line, &prologueEnd)
            let name = dwarf_linesrc(line, nil, nil).map { String(cString: $0) } ?? "??"
            let file: Int32
            if let known = fileIndex[name] { file = known } else {
                file = Int32(files.count)
                files.append(name)
                fileIndex[name] = file
            }
            // Rows below the ELF's code describe code the linker dropped (relocated to 0), as unit ranges at 0 do.
            if address < lowestCode { continue }
            // Line 0 ("no source line": compiler-made code) continues the line before it, as gdb reads it.
            if number == 0 && !end { continue }
            rows.append(Row(address: address, file: file, line: number, column: column, isStatement: statement, endSequence: end,
                            prologueEnd: prologueEnd))
        }
        // Stable: at one address an end of sequence comes before the rows of the next sequence.
        rows = rows.enumerated().sorted { a, b in
            if a.element.address != b.element.address { return a.element.address < b.element.address }
            if a.element.endSequence != b.element.endSequence { return a.element.endSequence }
            return a.offset < b.offset
        }.map(\.element)
        self.rows = rows
        self.files = files
    }

    /// The index of the row that describes `address` the way gdb picks it:
    /// the last row at the greatest address <= `address` (a statement row
    /// preferred among rows at that same address); nil inside no sequence.
    func rowIndex(at address: UInt64) -> Int? {
        var low = 0, high = rows.count
        while low < high {
            let mid = (low + high) / 2
            if rows[mid].address <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        var best = low - 1
        guard !rows[best].endSequence else { return nil }
        if !rows[best].isStatement {
            var i = best - 1
            while i >= 0 && rows[i].address == rows[best].address && !rows[i].endSequence {
                if rows[i].isStatement { best = i; break }
                i -= 1
            }
        }
        return best
    }

    func location(of row: Row) -> SourceLocation {
        SourceLocation(file: files[Int(row.file)], line: Int(row.line), column: Int(row.column))
    }

    func range(at address: UInt64) -> LineRange? {
        guard let index = rowIndex(at: address), rows[index].line != 0 else { return nil }
        let row = rows[index]
        var end = row.address
        var next = index + 1
        while next < rows.count {
            if rows[next].address > row.address { end = rows[next].address; break }
            next += 1
        }
        if next == rows.count { end = row.address }
        return LineRange(location: location(of: row), start: row.address, end: end, isStatement: row.isStatement)
    }
}

extension DebugInfoFile {
    /// The source position of `address` (file, line, column).
    public func location(at address: UInt64) throws(DebugInfoError) -> SourceLocation {
        try lineRange(at: address).location
    }

    /// The line-table row covering `address` and the addresses it spans (`info line *ADDR`).
    public func lineRange(at address: UInt64) throws(DebugInfoError) -> LineRange {
        lock.lock(); defer { lock.unlock() }
        let range = try firstAnswer(at: address) { unit throws(DebugInfoError) in try lineTable(of: unit).range(at: address) }
        guard let range else { throw .noLine(address) }
        return range
    }

    /// Every line-table range of `file:line` (`info line FILE:LINE`): statement rows only.
    public func lineRanges(file: String, line: Int) throws(DebugInfoError) -> [LineRange] {
        let match = try addresses(file: file, line: line)
        guard match.line == line else { return [] }
        var result: [LineRange] = []
        for address in match.addresses { result.append(try lineRange(at: address)) }
        return result
    }

    /// The addresses where `file:line` begins; a line without code moves to
    /// the next line of that file that has code (`exact`: no moving). `file`
    /// matches a full path, or any path that ends with `/file`.
    public func addresses(file: String, line: Int, exact: Bool = false) throws(DebugInfoError) -> LineAddresses {
        lock.lock(); defer { lock.unlock() }
        var candidates: [(line: Int, address: UInt64, file: String)] = []
        var knownFile: String?
        for unit in try allUnits() {
            // A unit whose line table cannot be read is skipped, not fatal: the others still answer.
            guard let table = try? lineTable(of: unit) else { continue }
            let matching = Set(table.files.indices.filter { Self.file(table.files[$0], matches: file) }.map(Int32.init))
            guard !matching.isEmpty else { continue }
            knownFile = knownFile ?? table.files[Int(matching.first!)]
            for (i, row) in table.rows.enumerated()
            where matching.contains(row.file) && row.isStatement && !row.endSequence && Int(row.line) >= line {
                if exact && Int(row.line) != line { continue }
                // The first row of a run of rows for this line: where the line's code begins.
                if i > 0, !table.rows[i - 1].endSequence, table.rows[i - 1].file == row.file,
                   table.rows[i - 1].line == row.line { continue }
                candidates.append((Int(row.line), row.address, table.files[Int(row.file)]))
            }
        }
        guard let knownFile else { throw .notFound("no source file \"\(file)\" in the line tables") }
        guard let best = candidates.map(\.line).min() else {
            throw .notFound("no code at or after line \(line) of \(knownFile)")
        }
        let chosen = candidates.filter { $0.line == best }
        return LineAddresses(file: chosen[0].file, requestedLine: line, line: best,
                             addresses: Array(Set(chosen.map(\.address))).sorted())
    }

    /// Every source file the line tables name (sorted; for completion and `info source`).
    public func sourceFiles() throws(DebugInfoError) -> [String] {
        lock.lock(); defer { lock.unlock() }
        var names = Set<String>()
        for unit in try allUnits() {
            guard let table = try? lineTable(of: unit) else { continue }
            names.formUnion(table.files)
        }
        return names.sorted()
    }

    /// Line-table rows in `[start, end)`: for interleaving source with disassembly.
    public func lineRows(from start: UInt64, to end: UInt64) throws(DebugInfoError) -> [(address: UInt64, location: SourceLocation)] {
        lock.lock(); defer { lock.unlock() }
        let found = try firstAnswer(at: start) { unit throws(DebugInfoError) -> LineTable? in
            let table = try lineTable(of: unit)
            return table.range(at: start) == nil ? nil : table
        }
        guard let table = found else { return [] }
        return table.rows.filter { $0.address >= start && $0.address < end && !$0.endSequence && $0.line != 0 }
            .map { ($0.address, table.location(of: $0)) }
    }

    static func file(_ path: String, matches query: String) -> Bool {
        path == query || path.hasSuffix("/" + query)
    }
}
