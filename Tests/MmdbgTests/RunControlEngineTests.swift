import Testing
@testable import MmdbgCore
import SessionTestSupport

/// The stop classifier alone: every event kind from facts, no target.
@Suite("Stop classifier")
struct StopClassifierTests {
    let userBreak = BreakpointTable.Entry(id: 2, kind: .software, address: 0x1000, length: 4, temporary: false, hits: 1,
                                          expression: "f")
    let userWatch = BreakpointTable.Entry(id: 3, kind: .writeWatch, address: 0x5000, length: 8, temporary: false, hits: 1,
                                          expression: "0x5000")
    let finishReturn = BreakpointTable.Entry(id: 4, kind: .software, address: 0x2000, length: 4, temporary: true, hits: 1,
                                             expression: "finish", role: .finishReturn)

    func classify(_ event: StopEvent, _ ending: RunEnding, hit: BreakpointTable.Entry? = nil,
                  x0: UInt64? = nil) -> StopClassification {
        StopClassifier.classify(StopFacts(event: event, ending: ending, hit: hit, returnValue: x0))
    }

    @Test func everyEventKind() {
        #expect(classify(.signal(5), .stopped, hit: userBreak) == StopClassification(event: .breakpoint, reason: "breakpoint 2"))
        #expect(classify(.watchpoint(.writeWatch, address: 0x5004), .stopped, hit: userWatch)
                == StopClassification(event: .watchpoint, reason: "watchpoint 3"))
        #expect(classify(.signal(5), .stopped, hit: finishReturn, x0: 0x2a)
                == StopClassification(event: .returned, reason: "returned (x0 = 0x2a)"))
        #expect(classify(.signal(5), .stepped(1)) == StopClassification(event: .step, reason: "step"))
        #expect(classify(.signal(5), .stepped(7)) == StopClassification(event: .step, reason: "7 steps"))
        #expect(classify(.signal(5), .stepLimit("still in f after 9 instructions (--max 9)"))
                == StopClassification(event: .stepLimit, reason: "still in f after 9 instructions (--max 9)"))
        #expect(classify(.signal(2), .interrupted("interrupted by Ctrl-C"))
                == StopClassification(event: .interrupted, reason: "interrupted by Ctrl-C"))
        #expect(classify(.signal(2), .deadline(0.5))
                == StopClassification(event: .deadline, reason: "no stop within the 0.5 s deadline (--timeout), interrupted"))
        #expect(classify(.signal(2), .deadline(30)).reason == "no stop within the 30 s deadline (--timeout), interrupted")
        #expect(classify(.exited(3), .stopped) == StopClassification(event: .exited, reason: "exited with status 3", exitStatus: 3))
        #expect(classify(.terminated(9), .stopped)
                == StopClassification(event: .terminated, reason: "terminated by signal 9", signal: 9))
        #expect(classify(.signal(11), .stopped) == StopClassification(event: .signal, reason: "signal 11", signal: 11))
        #expect(classify(.signal(2), .stopped) == StopClassification(event: .interrupted, reason: "interrupted"))
        #expect(classify(.watchpoint(.readWatch, address: 0x7000), .stopped)
                == StopClassification(event: .watchpoint, reason: "rwatch 0x7000"))
    }

    @Test func precedence() {
        // The breakpoint asked for wins over a deadline or Ctrl-C that came at the same moment.
        #expect(classify(.signal(5), .deadline(1), hit: userBreak).event == .breakpoint)
        #expect(classify(.signal(5), .interrupted("interrupted by Ctrl-C"), hit: userBreak).event == .breakpoint)
        // A target that is gone is gone, whatever was expected.
        #expect(classify(.exited(0), .stepped(3), hit: userBreak).event == .exited)
        #expect(classify(.terminated(15), .deadline(1)).event == .terminated)
        // Only the deadline and the step limit are failures.
        #expect(RunEvent.allCases.filter(\.isFailure) == [.deadline, .stepLimit])
    }
}

/// The run-control engine on the fake target: every command and every stop
/// event in milliseconds. The same behaviour on QEMU is in RunControlJSONTests.
@Suite("Run-control engine on a fake target")
struct RunControlEngineTests {
    /// f: 0x1000-0x100f, g: 0x2000-0x200f. The CPU runs f, calls g, returns to f, then powers off.
    static let path: [UInt64] = [0x1000, 0x1004, 0x1008, 0x2000, 0x2004, 0x2008, 0x100c]

    func session(_ target: FakeTarget) throws -> Session {
        let session = Session(services: .fake([":1": target]))
        session.symbols = FakeSymbols(["f": (0x1000, 0x10), "g": (0x2000, 0x10)])
        session.runTimeout = 5
        try session.attach(to: ":1")
        return session
    }

    func json(_ result: CommandResult) -> JSONValue? {
        switch result.outcome {
        case .success(let output): return output.json
        case .failure(let error): return error.stop
        }
    }

    func field(_ result: CommandResult, _ key: String) -> JSONValue? {
        guard case .object(let fields)? = json(result) else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    @Test func continueStopsAtABreakpointThenRunsToPowerOff() throws {
        let target = FakeTarget(path: Self.path)
        let session = try session(target)
        #expect(session.execute(line: "break g").succeeded)
        let hit = session.execute(line: "continue")
        #expect(hit.succeeded)
        #expect(field(hit, "event") == .string("breakpoint"))
        #expect(field(hit, "breakpoint") == .int(1))
        #expect(field(hit, "cpu") == .int(1))
        #expect(session.state == .stopped(pc: 0x2000, location: "g", task: nil, reason: "breakpoint 1"))
        #expect(session.breakpoints.entries.first?.hits == 1)
        // Continuing from the breakpoint steps over it and runs to the end.
        let end = session.execute(line: "continue")
        #expect(field(end, "event") == .string("exited"))
        #expect(field(end, "exitStatus") == .int(0))
        #expect(session.state == .exited("exited with status 0"))
        #expect(session.execute(line: "regs pc").error == .qemuExited("exited with status 0"))
    }

    @Test func stepiCountsAndStepLeavesTheFunction() throws {
        let target = FakeTarget(path: Self.path)
        let session = try session(target)
        let stepi = session.execute(line: "stepi 2")
        #expect(field(stepi, "event") == .string("step"))
        #expect(field(stepi, "steps") == .int(2))
        #expect(try session.registerValue("pc") == 0x1008)
        let step = session.execute(line: "step")
        #expect(field(step, "event") == .string("step"))
        #expect(field(step, "steps") == .int(1))
        #expect(session.state == .stopped(pc: 0x2000, location: "g", task: nil, reason: "step"))
    }

    @Test func aStepLimitInsideTheFunctionFailsAndCarriesTheStop() throws {
        let target = FakeTarget(path: Self.path)
        let session = try session(target)
        let step = session.execute(line: "step --max 2")
        #expect(!step.succeeded)
        #expect(step.error?.description == "step: still in f after 2 instructions (--max 2); stopped at f+0x8")
        #expect(field(step, "event") == .string("step-limit"))
        #expect(field(step, "steps") == .int(2))
    }

    @Test func reverseCommandsOnATargetThatCannotGoBackAreOneLineRefusals() throws {
        let session = try session(FakeTarget(path: Self.path))
        for line in ["reverse-stepi", "rc", "reverse-step", "reverse-finish", "last-write 0x1000", "pte-history 0x1000"] {
            let result = session.execute(line: line)
            #expect(!result.succeeded, "\(line)")
            let text = result.error?.description ?? ""
            #expect(text.contains("recording replayed by QEMU") && !text.contains("\n"), "\(line): \(text)")
        }
        #expect(try session.registerValue("pc") == 0x1000, "nothing moved")
    }

    @Test func finishAtTheEntryReturnsThroughX30AndLeavesNoBreakpoint() throws {
        let target = FakeTarget(path: Self.path, registers: ["x30": 0x100c])
        let session = try session(target)
        #expect(session.execute(line: "break g").succeeded)
        #expect(session.execute(line: "continue").succeeded)
        target.registers["x0"] = 0x2a
        let finish = session.execute(line: "finish")
        #expect(finish.succeeded)
        #expect(field(finish, "event") == .string("returned"))
        #expect(field(finish, "reason") == .string("returned (x0 = 0x2a)"))
        #expect(try session.registerValue("pc") == 0x100c)
        #expect(session.breakpoints.entries.map(\.id) == [1], "only the user's breakpoint is left")
        #expect(target.insertedStopPoints == [StopPoint(kind: .software, address: 0x2000, length: 4)])
    }

    @Test func aDeadlineInterruptsFailsAndRemovesTheTemporaryBreakpoint() throws {
        let target = FakeTarget(path: Self.path, registers: ["x30": 0x100c])
        target.events[1] = .hang
        let session = try session(target)
        let finish = session.execute(line: "finish --timeout 0.05")
        #expect(!finish.succeeded)
        #expect(field(finish, "event") == .string("deadline"))
        #expect(finish.error?.description
                == "finish: no stop within the 0.05 s deadline (--timeout), interrupted; stopped at f+0x4")
        #expect(target.insertedStopPoints.isEmpty)
        #expect(session.breakpoints.entries.isEmpty)
        #expect(target.log.contains("interrupt"))
    }

    @Test func tbreakIsRemovedAfterItsHitAndWatchpointsNameTheirID() throws {
        let target = FakeTarget(path: Self.path)
        target.events[5] = .watch(.writeWatch, address: 0x5004)
        let session = try session(target)
        #expect(session.execute(line: "tbreak g").succeeded)
        #expect(session.execute(line: "watch 0x5000 8").succeeded)
        let first = session.execute(line: "continue")
        #expect(field(first, "event") == .string("breakpoint"))
        #expect(session.breakpoints.entries.map(\.id) == [2])
        #expect(!target.insertedStopPoints.contains { $0.address == 0x2000 })
        let watch = session.execute(line: "continue")
        #expect(field(watch, "event") == .string("watchpoint"))
        #expect(field(watch, "breakpoint") == .int(2))
        #expect(try session.registerValue("pc") == 0x2008)
    }

    @Test func ctrlCWhileWaitingInterruptsTheTarget() throws {
        let target = FakeTarget(path: Self.path)
        target.events[2] = .hang
        let session = try session(target)
        var polls = 0
        session.interruptRequested = { polls += 1; return polls > 3 }
        let result = session.execute(line: "continue")
        #expect(result.succeeded)
        #expect(field(result, "event") == .string("interrupted"))
        #expect(field(result, "reason") == .string("interrupted by Ctrl-C"))
        #expect(session.state == .stopped(pc: 0x1008, location: "f+0x8", task: nil, reason: "interrupted by Ctrl-C"))
    }

    @Test func noWaitThenInterrupt() throws {
        let target = FakeTarget(path: Self.path)
        target.events[3] = .hang
        let session = try session(target)
        let running = session.execute(line: "continue --no-wait")
        #expect(field(running, "event") == .string("running"))
        #expect(session.state == .running)
        #expect(session.execute(line: "regs pc").error == .unavailable("regs: the target is running (use `interrupt` first)"))
        let stop = session.execute(line: "interrupt")
        #expect(field(stop, "event") == .string("interrupted"))
        #expect(session.execute(line: "interrupt").error == .failed("the target is not running"))
    }

    @Test func aSlowTargetIsWaitedForAndAKilledOneIsTerminated() throws {
        let target = FakeTarget(path: Self.path)
        target.pollsBeforeStop = 5
        target.events[4] = .killed(9)
        let session = try session(target)
        let result = session.execute(line: "continue")
        #expect(field(result, "event") == .string("terminated"))
        #expect(field(result, "signal") == .int(9))
        #expect(session.target == nil)
    }

    @Test func aLostConnectionIsOneErrorAndReattachRestoresBreakpoints() throws {
        let first = FakeTarget(path: Self.path)
        first.events[2] = .disconnect
        let second = FakeTarget(path: Self.path)
        let session = Session(services: .fake([":1": first, ":2": second]))
        session.symbols = FakeSymbols(["f": (0x1000, 0x10), "g": (0x2000, 0x10)])
        try session.attach(to: ":1")
        #expect(session.execute(line: "break g").succeeded)
        #expect(session.execute(line: "watch 0x5000 8").succeeded)
        let lost = session.execute(line: "continue")
        #expect(lost.error == .connectionLost("stub disconnected: connection reset by peer"))
        #expect(session.state == .connectionLost("stub disconnected: connection reset by peer"))
        #expect(session.target == nil)
        #expect(session.execute(line: "regs").error == .connectionLost("stub disconnected: connection reset by peer"))
        // The breakpoints survive and go into the new connection, once each.
        #expect(session.execute(line: "attach :2").succeeded)
        #expect(second.insertedStopPoints == [StopPoint(kind: .software, address: 0x2000, length: 4),
                                              StopPoint(kind: .writeWatch, address: 0x5000, length: 8)])
        #expect(field(session.execute(line: "continue"), "event") == .string("breakpoint"))
        // A bad address keeps the connection we have.
        #expect(session.execute(line: "attach :9").error == .failed("cannot connect to :9: connection refused"))
        #expect(session.target === second)
    }

    @Test func subscribersHearContinuedStoppedAndExited() throws {
        let target = FakeTarget(path: Self.path)
        let session = try session(target)
        var heard: [String] = []
        let token = session.runControl.subscribe { event in
            switch event {
            case .continued(let direction): heard.append("continued \(direction.rawValue)")
            case .stopped(let report): heard.append("stopped \(report.event.rawValue)")
            case .exited(let report): heard.append("exited \(report.classification.exitStatus ?? -1)")
            case .output: break
            }
        }
        _ = session.execute(line: "break g")
        _ = session.execute(line: "continue")
        _ = session.execute(line: "stepi")
        _ = session.execute(line: "continue")
        session.runControl.unsubscribe(token)
        #expect(heard == ["continued forward", "stopped breakpoint", "stopped step", "continued forward", "exited 0"])
    }

    @Test func reverseExecutionIsRefusedByATargetWithoutARecording() throws {
        let session = try session(FakeTarget(path: Self.path))
        #expect(throws: CommandError.unavailable("reverse execution needs a recording")) {
            try session.runControl.continueToStop(timeout: 1, direction: .reverse)
        }
        #expect(session.state == .stopped(pc: 0x1000, location: "f", task: nil, reason: "attached"))
    }

    @Test func showLastErrorPrintsThePacketsBeforeTheFailure() throws {
        let target = FakeTarget(path: Self.path)
        target.events[1] = .disconnect
        let session = try session(target)
        let none = session.execute(line: "show last-error")
        #expect(none.succeeded)
        _ = session.execute(line: "continue")
        let shown = session.execute(line: "show last-error")
        #expect(shown.succeeded)
        guard case .success(let output) = shown.outcome else { return }
        #expect(output.blocks == [.text("waitForStop: connection lost: stub disconnected: connection reset by peer\nrecent packets:\n  -> c\n  <- (connection closed)")])
    }

    @Test func disconnectClosesWithoutDetachingAndAttachComesBack() throws {
        let target = FakeTarget(path: Self.path)
        let session = try session(target)
        #expect(session.execute(line: "break g").succeeded)
        let result = session.execute(line: "disconnect")
        #expect(result.succeeded)
        #expect(target.log.last == "close", "closed, not detached: \(target.log)")
        #expect(!target.log.contains("detach"))
        #expect(session.state == .detached)
        #expect(session.execute(line: "regs pc").error == .unavailable("regs: not attached to a target (use `attach HOST:PORT`)"))
    }
}

/// Issue 19 on the fake target: `break … --cpu N` and `cpu N` (the real thing: CPUViewVersusGdbSystemTests).
@Suite struct CPUSelectionTests {
    /// g (0x2000) is reached first by CPU 0 (thread 1), then by CPU 1 (thread 2).
    static let path: [UInt64] = [0x1000, 0x2000, 0x1004, 0x2000, 0x1008]

    func session(_ target: FakeTarget) throws -> Session {
        let session = Session(services: .fake([":1": target]))
        session.symbols = FakeSymbols(["f": (0x1000, 0x10), "g": (0x2000, 0x10)])
        session.runTimeout = 5
        try session.attach(to: ":1")
        return session
    }

    @Test func aBreakpointForOneCPUIgnoresHitsOnTheOthers() throws {
        let target = FakeTarget(path: Self.path)
        target.cpuList = [1, 2]
        target.cpuAt = [1: 1, 3: 2]
        let session = try session(target)
        #expect(session.execute(line: "break g --cpu 1").succeeded)
        let hit = session.execute(line: "continue")
        guard case .success(let output) = hit.outcome, case .object(let fields) = output.json else {
            Issue.record("continue failed: \(String(describing: hit.error))")
            return
        }
        #expect(fields.first { $0.0 == "cpu" }?.1 == .int(2), "the hit on CPU 0 was passed over")
        #expect(target.position == 3)
        #expect(session.breakpoints.entries.first?.hits == 1)
        #expect(session.prompt.hasSuffix(" cpu 1) "), "\(session.prompt)")
        #expect(session.execute(line: "break g --cpu 2").error?.description.contains("no cpu 2") == true)
    }

    @Test func cpuSelectsAThreadAndRefusesOneTheTargetLacks() throws {
        let target = FakeTarget(path: Self.path)
        target.cpuList = [1, 2, 3]
        let session = try session(target)
        #expect(session.execute(line: "cpu 2").succeeded)
        #expect(target.selectedCPUNumber == 3)
        #expect(session.selectedCPU == 2)
        #expect(session.prompt.hasSuffix(" cpu 2) "), "\(session.prompt)")
        let refused = session.execute(line: "cpu 3")
        #expect(refused.error?.description.contains("no cpu 3: the target has cpus 0-2") == true, "\(String(describing: refused.error))")
        #expect(session.selectedCPU == 2, "a refused selection changes nothing")
    }
}
