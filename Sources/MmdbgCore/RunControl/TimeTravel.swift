import Foundation
import Inspect

/// The answers of time travel over a replayed recording: who last wrote an
/// address (`last-write`) and every change to a page-table walk
/// (`pte-history`). Both run on the one run-control engine with watchpoints:
/// `last-write` backwards, `pte-history` forwards over the recording.
extension Session {
    /// The kernel's linear map of RAM: KVA = PA + base (kernel_abi.h `MM_LINEAR_MAP_BASE`).
    /// Watchpoints match virtual addresses, so physical locations are watched through it.
    public static let linearMapBase: UInt64 = 0xFFFF_0000_0000_0000
    /// The kernel's power-off routine: the end of every recording of it. A forward scan
    /// stops there instead of letting QEMU exit (which would end the replay).
    public static let powerOffSymbol = "mm_psci_system_off"

    /// Moves the replay to instruction count `target`: backwards by a reverse-continue
    /// to the start, forwards with QEMU's `replay_break`. The session's stop points are
    /// lifted meanwhile so nothing stops the way, and put back. Forward, the injections of a
    /// replayed fault scenario on the way are re-applied (`continueAcrossInjections`).
    public func seekReplay(to position: UInt64, timeout: Double?) throws(CommandError) {
        var now = try requireReplayPosition(for: "seek")
        if now == position { return }
        let started = now
        try withLiftedStopPoints { () throws(CommandError) in
            if position < now {
                // Straight to the start (not `continueToStop`: that one stops at injections).
                try runControl.resume(.reverse)
                let back = try runControl.waitAndReport(timeout: timeout, direction: .reverse)
                guard back.event == .recordingBoundary else { throw .target("seek: \(back.text)") }
                now = 0
            }
            if position > now {
                let forward = try runControl.continueAcrossInjections(timeout: timeout, until: position)
                if forward.targetIsGone { throw .target("seek: the recording ended before instruction \(position)") }
                guard forward.position == position else { throw .target("seek to icount \(position): \(forward.text)") }
            }
        }
        refreshReplayPosition(direction: position < started ? .reverse : .forward)
    }

    /// `last-write`: the last instruction before the current position that wrote any of
    /// `length` bytes at virtual `address`. Leaves the target stopped at it (before the
    /// write: AArch64 watchpoints stop before the access) and reports old and new values.
    public func lastWrite(address: UInt64, length: Int, timeout: Double?) throws(CommandError) -> LastWrite {
        let start = try requireReplayPosition(for: "last-write")
        let target = try requireStoppedTarget(for: "last-write")
        let newValue = try target.readMemory(at: address, count: length, physical: false)
        try target.insertBreakpoint(.writeWatch, at: address, length: length)
        let watch = breakpoints.add(kind: .writeWatch, address: address, length: length, temporary: true,
                                    expression: "last-write \(Hex.format(address))", role: .user)
        defer {
            if breakpoints.remove(id: watch.id) != nil, state != .running {
                try? target.removeBreakpoint(.writeWatch, at: address, length: length)
            }
        }
        let report = try runControl.continueToStop(timeout: timeout, direction: .reverse)
        guard report.event == .watchpoint else {
            if report.event == .recordingBoundary || report.event == .injection {
                // Nothing wrote there (back to the start, or to an injection it does not cross):
                // the target goes back to where the user was.
                try seekReplay(to: start, timeout: timeout)
                return LastWrite(address: address, length: length, found: false, from: start, report: report, pc: nil,
                                 function: nil, source: nil, task: nil, oldValue: nil, newValue: newValue)
            }
            throw .target("last-write: \(report.text)")
        }
        // QEMU may land just after the store (the replay stops at the instruction count of the hit):
        // then one instruction back is the store itself, with the old value still in memory.
        var oldValue = try target.readMemory(at: address, count: length, physical: false)
        var stop = report
        if oldValue == newValue {
            let before = try runControl.stepInstructions(1, direction: .reverse)
            let earlier = try target.readMemory(at: address, count: length, physical: false)
            if earlier != oldValue {
                oldValue = earlier
                stop = before
            } else {
                _ = try runControl.stepInstructions(1)  // the write stored the value it found: keep the hit
            }
        }
        guard case .stopped(let pc, let location, let task, _) = state else { throw .target("last-write: \(stop.text)") }
        return LastWrite(address: address, length: length, found: true, from: start, report: stop, pc: pc,
                         function: location, source: sourceLine(at: pc), task: task, oldValue: oldValue,
                         newValue: newValue)
    }

    /// `pte-history`: replays the whole recording (start to the kernel's power-off, or to
    /// `until`) with a write watchpoint on each descriptor of `address`'s walk, and records
    /// every change. When a table descriptor changes, the walk is recomputed and the
    /// watchpoints follow the new table pages. Ends back where it started.
    public func pteHistory(address: UInt64, pid: Int?, timeout: Double?) throws(CommandError) -> PTEHistory {
        let start = try requireReplayPosition(for: "pte-history")
        let target = try requireStoppedTarget(for: "pte-history")
        let views = try requireKernelViews(for: "pte-history")
        // The walk's root and registers as they are here (the task exists now), reused over the whole recording.
        let walk = try views.descriptorWalk(pid: pid)
        var changes: [PTEHistory.Change] = []
        var watched: [UInt64: Int] = [:]  // descriptor PA -> level
        func rewatch() throws(CommandError) {
            var wanted: [UInt64: Int] = [:]
            for step in try walk(address) { wanted[step.descriptorAddress] = step.level }
            for (pa, _) in watched where wanted[pa] == nil {
                try target.removeBreakpoint(.writeWatch, at: Session.linearMapBase &+ pa, length: 8)
            }
            for (pa, _) in wanted where watched[pa] == nil {
                try target.insertBreakpoint(.writeWatch, at: Session.linearMapBase &+ pa, length: 8)
            }
            watched = wanted
        }
        let endAddress = symbols?.address(of: Session.powerOffSymbol)
        try withProgress("replaying the recording") { () throws(CommandError) in
            try seekReplay(to: 0, timeout: timeout)
            if let endAddress { try target.insertBreakpoint(.hardware, at: endAddress, length: 4) }
            defer {
                if target.runState == .stopped {
                    if let endAddress { try? target.removeBreakpoint(.hardware, at: endAddress, length: 4) }
                    for (pa, _) in watched { try? target.removeBreakpoint(.writeWatch, at: Session.linearMapBase &+ pa, length: 8) }
                }
            }
            try rewatch()
            while true {
                if interruptRequested() { break }
                // A replayed fault scenario: QEMU stops at the next firing, whose writes go back in.
                let next = injectionPosition().flatMap { nextInjection(after: $0) }
                if let next { _ = try target.monitor("replay_break \(next.icount)") }
                try target.resume(.forward)
                noteResumed()
                let (cause, event) = try runControl.wait(deadline: timeout)
                if cause == .stopped, let next, !event.targetIsGone {
                    if injectionPosition() == next.icount {
                        try applyInjection(next)
                        if case .watchpoint = event {} else { continue }
                    } else {
                        _ = try? target.monitor("replay_delete_break")
                    }
                }
                guard cause == .stopped, case .watchpoint(_, let hitAddress) = event else { break }
                let pa = hitAddress &- Session.linearMapBase
                let position = (try? requireReplayPosition(for: "pte-history")) ?? 0
                let pc = try registerValue("pc")
                let task = try? views.currentTaskID()
                let old = try target.readMemory(at: pa & ~7, count: 8, physical: true).littleEndianUInt64(at: 0)
                // The watchpoint stopped before the store: one instruction forward performs it.
                let stepped = try target.stepInstruction(.forward)
                noteStopped(reason: stepped.summary)
                if stepped.targetIsGone { break }
                let new = try target.readMemory(at: pa & ~7, count: 8, physical: true).littleEndianUInt64(at: 0)
                if old != new {
                    changes.append(PTEHistory.Change(position: position, level: watched[pa & ~7] ?? -1,
                                                     descriptorAddress: pa & ~7, oldValue: old, newValue: new, pc: pc,
                                                     function: symbols?.symbolicate(pc).map { "\($0.name)+\(Hex.format($0.offset))" },
                                                     source: sourceLine(at: pc), task: task))
                }
                try rewatch()
            }
        }
        try refreshStopState(reason: "pte-history")
        try seekReplay(to: start, timeout: timeout)
        try refreshStopState(reason: "pte-history")
        return PTEHistory(address: address, pid: pid, changes: changes, finalWalk: try walk(address))
    }
}

/// What `last-write` found.
public struct LastWrite {
    public var address: UInt64
    public var length: Int
    /// False: nothing wrote there between the start of the recording and `from`.
    public var found: Bool
    /// The instruction count it searched back from.
    public var from: UInt64
    public var report: RunReport
    public var pc: UInt64?
    public var function: String?
    public var source: StopSource?
    public var task: Int?
    public var oldValue: [UInt8]?
    public var newValue: [UInt8]

    static func value(_ bytes: [UInt8]) -> String {
        bytes.count == 8 ? Hex.padded(bytes.littleEndianUInt64(at: 0)) : bytes.map { String(format: "%02x", $0) }.joined()
    }

    public var text: [String] {
        guard found, let pc, let oldValue else {
            let since = report.injection.map { "injection #\($0) (icount \(report.position.map(String.init) ?? "?"); reverse execution does not cross an injection)" }
            return ["no write to \(Hex.format(address)) (\(length) bytes) between \(since ?? "the start of the recording") and icount \(from)"]
        }
        var lines = ["last write to \(Hex.format(address)) (\(length) bytes) at icount \(report.position.map(String.init) ?? "?"): "
            + "\(Hex.format(pc)) \(function ?? "?")" + (task.map { " task \($0)" } ?? ""),
                     "  old \(Self.value(oldValue))  new \(Self.value(newValue))"]
        if let source { lines.append("  " + source.text.replacingOccurrences(of: "\n", with: "\n  ")) }
        return lines
    }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [("address", .hex(address)), ("length", .int(Int64(length))),
                                             ("found", .bool(found)), ("from", .int(Int64(bitPattern: from)))]
        if !found, let injection = report.injection { fields.append(("injection", .int(Int64(injection)))) }
        if found {
            fields += [("icount", report.position.map { .int(Int64(bitPattern: $0)) } ?? .null),
                       ("pc", pc.map(JSONValue.hex) ?? .null), ("function", function.map(JSONValue.string) ?? .null),
                       ("source", source?.json ?? .null), ("task", task.map { .int(Int64($0)) } ?? .null),
                       ("old", oldValue.map { .string(Self.value($0)) } ?? .null)]
        }
        fields.append(("new", .string(Self.value(newValue))))
        fields.append(("target", report.target.jsonValue))
        return .object(fields)
    }
}

/// What `pte-history` found: every change to a descriptor of the walk, oldest first.
public struct PTEHistory {
    public struct Change {
        public var position: UInt64
        public var level: Int
        public var descriptorAddress: UInt64
        public var oldValue: UInt64
        public var newValue: UInt64
        public var pc: UInt64
        public var function: String?
        public var source: StopSource?
        public var task: Int?

        public var json: JSONValue {
            .object([("icount", .int(Int64(bitPattern: position))), ("level", .int(Int64(level))),
                     ("descriptorAddress", .hex(descriptorAddress)), ("old", .hex(oldValue)), ("new", .hex(newValue)),
                     ("pc", .hex(pc)), ("function", function.map(JSONValue.string) ?? .null),
                     ("source", source?.json ?? .null), ("task", task.map { .int(Int64($0)) } ?? .null)])
        }
    }

    public var address: UInt64
    public var pid: Int?
    public var changes: [Change]
    /// The walk at the position the command started from.
    public var finalWalk: [WalkStep]

    public var table: TextTable {
        var table = TextTable(columns: [.init("ICOUNT", .right), .init("LEVEL", .right), .init("DESCRIPTOR AT"),
                                        .init("OLD"), .init("NEW"), .init("WRITER"), .init("TASK", .right)])
        for c in changes {
            table.rows.append([String(c.position), String(c.level), Hex.format(c.descriptorAddress), Hex.padded(c.oldValue),
                               Hex.padded(c.newValue), c.function ?? Hex.format(c.pc), c.task.map(String.init) ?? "-"])
        }
        return table
    }

    public var json: JSONValue {
        .object([("va", .hex(address)), ("pid", pid.map { .int(Int64($0)) } ?? .null),
                 ("changes", .array(changes.map(\.json))),
                 ("walk", .array(finalWalk.map { step in
                     .object([("level", .int(Int64(step.level))), ("descriptorAddress", .hex(step.descriptorAddress)),
                              ("descriptor", .hex(step.descriptor.raw))])
                 }))])
    }
}

extension Session {
    /// Takes a QEMU snapshot (`savevm`) every `spacing` instructions from the start of the
    /// replay up to `until`, so a later reverse command replays at most `spacing`
    /// instructions (QEMU reloads the nearest snapshot before the position). Ends at `until`.
    /// Returns the number of snapshots taken.
    @discardableResult
    public func takeReplaySnapshots(every spacing: UInt64, until end: UInt64, timeout: Double?) throws(CommandError) -> Int {
        guard spacing > 0 else { throw .failed("snapshot spacing must be positive") }
        let target = try requireStoppedTarget(for: "snapshots")
        var taken = 0
        var position = spacing
        try seekReplay(to: 0, timeout: timeout)
        while position < end {
            try seekReplay(to: position, timeout: timeout)
            _ = try target.monitor("savevm mmdbg-\(position)")
            taken += 1
            position += spacing
        }
        try seekReplay(to: end, timeout: timeout)
        return taken
    }
}
