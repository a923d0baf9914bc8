import DebugInfo
import MmdbgCore
import SessionTestSupport
import Testing

/// `step`/`next`/`until`/`nexti` by source line on the fake target with made-up line rows:
/// the algorithm's edge cases in milliseconds (the kernel beside gdb is LineSteppingVersusGdbSystemTests).
///
/// f (0x1000): line 10 0x1000-0x1008, line 11 0x1008-0x1014 (`bl` at 0x100c, return lands at 0x1010,
/// the middle of line 11), line 12 0x1014-0x101c, line 13 0x101c-0x1024.
/// g (0x2000, prologue ends at 0x2008): line 20 0x2000-0x2008, line 21 0x2008-0x2010 (`ret` at 0x200c).
@Suite("Line stepping on a fake target")
struct LineSteppingEngineTests {
    static let rows: [LineStepPosition] = [
        .row(line: 10, 0x1000..<0x1008, function: 0x1000),
        .row(line: 11, 0x1008..<0x1014, function: 0x1000),
        .row(line: 12, 0x1014..<0x101c, function: 0x1000),
        .row(line: 13, 0x101c..<0x1024, function: 0x1000),
        .row("g.swift", line: 20, 0x2000..<0x2008, function: 0x2000),
        .row("g.swift", line: 21, 0x2008..<0x2010, function: 0x2000),
    ]

    func session(_ target: FakeTarget, rows: [LineStepPosition] = Self.rows) throws -> Session {
        let session = Session(services: .fake([":1": target]))
        session.symbols = FakeSymbols(["f": (0x1000, 0x24), "g": (0x2000, 0x10), "nolines": (0x5000, 0x10)])
        session.runTimeout = 5
        try session.attach(to: ":1")
        session.lineStepOracle = FakeLines(rows, prologueEnds: [0x2000: 0x2008])
        return session
    }

    func field(_ result: CommandResult, _ key: String) -> JSONValue? {
        let json: JSONValue?
        switch result.outcome {
        case .success(let output): json = output.json
        case .failure(let error): json = error.stop
        }
        guard case .object(let fields)? = json else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    /// f's line 11 calls g: 0x1008, bl at 0x100c, g's four instructions, back at 0x1010, on to line 12.
    func callingG() -> FakeTarget {
        let target = FakeTarget(path: [0x1008, 0x100c, 0x2000, 0x2004, 0x2008, 0x200c, 0x1010, 0x1014, 0x1018])
        target.registersAt = [2: ["x30": 0x1010]]
        return target
    }

    @Test func nextRunsOverTheCallToTheNextLine() throws {
        let target = callingG()
        let session = try session(target)
        let next = session.execute(line: "next")
        #expect(next.succeeded, "\(String(describing: next.error))")
        #expect(try session.registerValue("pc") == 0x1014)
        // The call ran under a temporary breakpoint at its return address, which is gone again.
        #expect(target.log.contains { $0.hasPrefix("insert") && $0.hasSuffix(" 0x1010") }, "\(target.log)")
        #expect(target.log.contains { $0.hasPrefix("remove") && $0.hasSuffix(" 0x1010") }, "\(target.log)")
        #expect(target.insertedStopPoints.isEmpty)
    }

    @Test func stepGoesIntoACalleeWithLinesAndStopsAfterItsPrologue() throws {
        let target = callingG()
        let session = try session(target)
        let step = session.execute(line: "step")
        #expect(step.succeeded, "\(String(describing: step.error))")
        #expect(try session.registerValue("pc") == 0x2008)
        #expect(field(step, "event") == .string("step"))
    }

    @Test func stepRunsOverACalleeWithoutLines() throws {
        let target = FakeTarget(path: [0x1008, 0x100c, 0x5000, 0x5004, 0x1010, 0x1014])
        target.registersAt = [2: ["x30": 0x1010]]
        let session = try session(target)
        #expect(session.execute(line: "step").succeeded)
        #expect(try session.registerValue("pc") == 0x1014)
    }

    @Test func returningIntoTheMiddleOfTheCallersLineGoesOnToItsNextLine() throws {
        // From g's line 21: ret lands at 0x1010, inside f's line 11; the step ends where line 12 begins.
        let target = FakeTarget(path: [0x2008, 0x200c, 0x1010, 0x1014, 0x1018], registers: ["x30": 0x1010])
        let session = try session(target)
        let next = session.execute(line: "next")
        #expect(next.succeeded, "\(String(describing: next.error))")
        #expect(try session.registerValue("pc") == 0x1014)
        #expect(field(next, "steps") == .int(3))
    }

    @Test func aRecursiveCallHittingTheReturnBreakpointDeeperIsRunOn() throws {
        // f calls f; the inner f (SP 0x7f00) reaches 0x1010 first, then returns to the outer one (SP 0x8000).
        let target = FakeTarget(path: [0x1008, 0x100c, 0x1000, 0x1004, 0x1008, 0x1010, 0x1014, 0x101c, 0x1020, 0x1010, 0x1014],
                                registers: ["sp": 0x8000])
        target.registersAt = [2: ["x30": 0x1010], 3: ["sp": 0x7f00], 9: ["sp": 0x8000]]
        let session = try session(target)
        let next = session.execute(line: "next")
        #expect(next.succeeded, "\(String(describing: next.error))")
        #expect(try session.registerValue("pc") == 0x1014)
        #expect(try session.registerValue("sp") == 0x8000)
        #expect(target.position == 10, "stopped in the outer frame, not the recursive one")
        #expect(target.log.filter { $0 == "resume" }.count == 2, "\(target.log)")
    }

    @Test func nextStepsThroughAnInlinedCallOnTheSameLineAndStepStopsInIt() throws {
        var rows = Self.rows
        // Line 12 holds an inlined call (h, 0x1018-0x101c, called from line 12).
        rows[2] = .row(line: 12, 0x1014..<0x1018, function: 0x1000)
        rows.append(.row("h.swift", line: 40, 0x1018..<0x101c, function: 0x1000, inlined: [0x1018],
                         callSites: [SourceLocation(file: "f.swift", line: 12)]))
        let path: [UInt64] = [0x1014, 0x1018, 0x101c, 0x1020]
        let overSession = try session(FakeTarget(path: path), rows: rows)
        #expect(overSession.execute(line: "next").succeeded)
        #expect(try overSession.registerValue("pc") == 0x101c)
        let intoSession = try session(FakeTarget(path: path), rows: rows)
        #expect(intoSession.execute(line: "step").succeeded)
        #expect(try intoSession.registerValue("pc") == 0x1018)
        // finish in the inlined function: on until the PC leaves it.
        let finish = intoSession.execute(line: "finish")
        #expect(finish.succeeded, "\(String(describing: finish.error))")
        #expect(try intoSession.registerValue("pc") == 0x101c)
    }

    @Test func untilDoesNotGoBackIntoTheLoop() throws {
        // Line 12's last instruction jumps back to line 11 twice, then falls through to line 13.
        let path: [UInt64] = [0x1018, 0x1008, 0x1010, 0x1014, 0x1018, 0x1008, 0x1014, 0x1018, 0x101c]
        let nextSession = try session(FakeTarget(path: path))
        #expect(nextSession.execute(line: "next").succeeded)
        #expect(try nextSession.registerValue("pc") == 0x1008, "next goes back to the loop's line")
        let untilSession = try session(FakeTarget(path: path))
        #expect(untilSession.execute(line: "until").succeeded)
        #expect(try untilSession.registerValue("pc") == 0x101c, "until runs on to the line after the loop")
    }

    @Test func theLimitFailsSayingWhichLine() throws {
        let target = FakeTarget(path: [0x1008, 0x100c, 0x1008, 0x100c, 0x1008, 0x1014])
        let session = try session(target)
        let step = session.execute(line: "step --max 2")
        #expect(!step.succeeded)
        #expect(step.error?.description == "step: still at f.swift:11 after 2 instructions (--max 2); stopped at f+0x8")
        #expect(field(step, "event") == .string("step-limit"))
    }

    @Test func withoutLinesStepFallsBackToTheFunctionAndSaysSo() throws {
        let target = FakeTarget(path: [0x5000, 0x5004, 0x1000])
        let session = try session(target)
        let step = session.execute(line: "step")
        #expect(step.succeeded)
        #expect(try session.registerValue("pc") == 0x1000)
        #expect(field(step, "note") == .string("no line information at nolines: stepped until the function changed"))
    }

    @Test func nextiRunsOverACallAndReverseIsRefused() throws {
        let target = FakeTarget(path: [0x100c, 0x5000, 0x5004, 0x1010, 0x1014])
        target.registersAt = [1: ["x30": 0x1010]]
        let session = try session(target)
        let nexti = session.execute(line: "nexti")
        #expect(nexti.succeeded, "\(String(describing: nexti.error))")
        #expect(try session.registerValue("pc") == 0x1010)
        #expect(field(nexti, "steps") == .int(1))
        #expect(throws: CommandError.self) { try session.runControl.stepLine(.next, limit: 10, timeout: 1, direction: .reverse) }
    }
}
