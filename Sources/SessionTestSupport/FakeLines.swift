import DebugInfo
import MmdbgCore

/// A `LineStepOracle` double: line-table rows made up for a fake target's
/// addresses, so the line-stepping engine's cases (calls, recursion, returns
/// into the middle of a line, inlined calls, loops) run in milliseconds.
///
///     let lines = FakeLines([.row(line: 11, 0x1008..<0x1010, function: 0x1000)], prologueEnds: [0x2000: 0x2008])
///     session.lineStepOracle = lines
public final class FakeLines: LineStepOracle {
    public var rows: [LineStepPosition]
    /// Function entry → where a step into it stops.
    public var prologueEnds: [UInt64: UInt64]

    public init(_ rows: [LineStepPosition], prologueEnds: [UInt64: UInt64] = [:]) {
        self.rows = rows
        self.prologueEnds = prologueEnds
    }

    public func stepPosition(at pc: UInt64) -> LineStepPosition? {
        rows.first { $0.row.start <= pc && pc < $0.row.end }
    }

    public func postPrologueAddress(entry: UInt64) -> UInt64 { prologueEnds[entry] ?? entry }
}

extension LineStepPosition {
    /// One row of `file`: `line` over `range`, in the function that begins at `function`,
    /// inside the inlined scopes `inlined` (innermost first) called from `callSites`.
    public static func row(_ file: String = "f.swift", line: Int, _ range: Range<UInt64>, statement: Bool = true,
                           function: UInt64, inlined: [UInt64] = [], callSites: [SourceLocation?] = []) -> LineStepPosition {
        LineStepPosition(row: LineRange(location: SourceLocation(file: file, line: line), start: range.lowerBound,
                                        end: range.upperBound, isStatement: statement),
                         inlinedScopes: inlined, callSites: callSites, functionEntry: function)
    }
}
