import Foundation
import Inspect
import MmdbgCore

/// `expect` and `baseline`: the checks a scenario asserts. A failed
/// expectation is a failed command, so a scenario stops at its first one.
enum ExpectCommand {
    static let kinds = ["uart", "absent", "summary", "exit", "task", "free-pages", "check", "alive", "last-write"]

    static let spec = CommandSpec(
        name: "expect", group: "fault injection",
        summary: "assert a UART line, a task state, no page leak, clean checks, a live QEMU, the kernel's [TEST] summary or who last wrote an address",
        usage: "expect uart REGEX [--within S] | absent REGEX | summary [--failed N] [--within S] | exit [--within S] | task PID alive|zombie|reaped|STATE | free-pages baseline|N | check clean|KIND | alive | last-write ADDR [LEN] in FUNCTION [--within S]",
        details: """
        uart REGEX      drive the target (faults applied) until the UART transcript matches, within S seconds (default 20)
        absent REGEX    the transcript so far has no match
        summary         drive until init's "[INIT] summary: P passed, F failed, R run" line; F must be --failed (default 0)
        exit            drive until the kernel powers off
        task PID STATE  alive (any live state), reaped (no slot has the pid), or a state: runnable, running, sleeping, waiting, zombie
        free-pages      equal to the `baseline` recorded earlier, or to N
        check clean     every consistency check passes; check KIND: at least one finding of that kind (e.g. wrongFlags)
        alive           QEMU still runs and printed no [PANIC]
        last-write      the last write to ADDR (LEN bytes, default 8) before here was made in FUNCTION (its symbol or
                        DWARF function). Checks a recording: at a `mmdbg replay --debug DIR` prompt it runs `last-write`
                        (within S seconds) and returns to where it was; in `mmdbg run --record DIR FILE` it notes the
                        instruction count and the runner checks it on a replay of the recording after the run
        """,
        examples: [#"expect uart '\[KERN\] OOM at 0x' --within 10"#, "expect task 3 zombie", "expect free-pages baseline",
                   "expect check clean", "expect summary --failed 0", "expect alive", "expect last-write mm_pool+16 in free_page"],
        options: [OptionSpec("within", value: "SECONDS", help: "deadline for the waiting kinds (default 20)"),
                  OptionSpec("failed", value: "N", help: "summary: failed scenarios expected (default 0)")],
        completions: [.keywords(kinds)]
    ) { args, session throws(CommandError) in
        guard let kind = args.positionals.first?.text else { throw args.usageError("missing what to expect") }
        let within = try GoCommand.seconds(args, "within", default: 20)
        switch kind {
        case "uart", "absent":
            try args.expectCount(2...2)
            let pattern = try regex(args.positionals[1].text)
            if kind == "absent" {
                guard !FaultDriver.matches(pattern, session) else {
                    throw .failed("expectation failed: the UART shows /\(pattern.pattern)/")
                }
                return .message("ok: no UART line matches /\(pattern.pattern)/")
            }
            return try driveUntil(pattern, within: within, session, what: "UART /\(pattern.pattern)/")
        case "summary":
            try args.expectCount(1...1)
            let failedWanted = try args.countOption("failed", in: 0...Int(Int32.max)) ?? 0
            let pattern = try regex(#"\[INIT\] summary: (\d+) passed, (\d+) failed, (\d+) run"#)
            _ = try driveUntil(pattern, within: within, session, what: "the [INIT] summary")
            let text = session.launchedQEMU?.outputText ?? ""
            guard let match = pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                  let range = Range(match.range(at: 2), in: text), let failed = Int(text[range]),
                  let line = Range(match.range, in: text) else { throw .failed("expectation failed: no [INIT] summary") }
            guard failed == failedWanted else {
                throw .failed("expectation failed: \(text[line]) (expected \(failedWanted) failed)")
            }
            return .message("ok: \(text[line])")
        case "exit":
            try args.expectCount(1...1)
            if session.target == nil, case .exited = session.state { return .message("ok: the target had exited") }
            let (outcome, _) = try FaultDriver.drive(session, goal: FaultDriver.Goal(timeout: within), command: "expect exit")
            guard case .exited(let why) = outcome else { throw .failed("expectation failed: no exit within \(within) s (\(outcome.summary))") }
            return .message("ok: target \(why)")
        case "task":
            try args.expectCount(3...3)
            return try expectTask(args, session)
        case "free-pages":
            try args.expectCount(2...2)
            let kernel = try FaultSessionState.kernel(session, for: "expect free-pages")
            let free = try FaultDriver.wrap { () throws(FaultInjectionError) in try kernel.freePages() }
            let wanted: UInt64
            if args.positionals[1].text == "baseline" {
                guard let baseline = FaultSessionState.of(session).baselineFreePages else {
                    throw .unavailable("expect free-pages baseline: run `baseline` first")
                }
                wanted = baseline
            } else {
                wanted = try args.integer(at: 1)
            }
            guard free == wanted else {
                throw .failed("expectation failed: \(free) free pages, expected \(wanted) (\(Int64(bitPattern: free &- wanted)) pages)")
            }
            return .message("ok: \(free) free pages")
        case "check":
            try args.expectCount(2...2)
            return try expectCheck(args.positionals[1].text, session)
        case "last-write":
            return try expectLastWrite(args, session, within: within)
        case "alive":
            try args.expectCount(1...1)
            guard let qemu = session.launchedQEMU, qemu.isRunning else { throw .failed("expectation failed: QEMU is not running") }
            let panic = try regex(#"\[PANIC\]"#)
            guard !FaultDriver.matches(panic, session) else { throw .failed("expectation failed: the kernel panicked") }
            return .message("ok: QEMU alive, no panic")
        default:
            throw args.usageError("unknown expectation \"\(CommandError.clipForFaults(kind))\" (one of \(kinds.joined(separator: ", ")))")
        }
    }

    static let baseline = CommandSpec(
        name: "baseline", group: "fault injection",
        summary: "record the free-page count now (for `expect free-pages baseline`)",
        usage: "baseline"
    ) { args, session throws(CommandError) in
        try args.expectCount(0...0)
        let kernel = try FaultSessionState.kernel(session, for: "baseline")
        let free = try FaultDriver.wrap { () throws(FaultInjectionError) in try kernel.freePages() }
        FaultSessionState.of(session).baselineFreePages = free
        return .message("baseline: \(free) free pages", json: .object([("freePages", .uint(free))]))
    }

    // MARK: helpers

    static func regex(_ text: String) throws(CommandError) -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: text, options: [.anchorsMatchLines]) } catch {
            throw .failed("bad regular expression /\(CommandError.clipForFaults(text))/")
        }
    }

    private static func driveUntil(_ pattern: NSRegularExpression, within: Double, _ session: Session,
                                   what: String) throws(CommandError) -> CommandOutput {
        if FaultDriver.matches(pattern, session) { return .message("ok: \(what)") }
        guard session.target != nil else { throw .failed("expectation failed: \(what) not seen and the target is gone") }
        let (outcome, fired) = try FaultDriver.drive(session, goal: FaultDriver.Goal(uart: pattern, timeout: within),
                                                     command: "expect")
        // QEMU may print the line and power off before the pipe is read.
        if outcome != .uartMatched {
            if case .exited = outcome { _ = try? session.launchedQEMU?.waitForExit(timeout: 5) }
            guard FaultDriver.matches(pattern, session) else {
                throw .failed("expectation failed: \(what) not seen within \(within) s (\(outcome.summary))")
            }
        }
        return .message("ok: \(what)", json: .object([("fired", .array(fired.map(TraceJSON.hit)))]))
    }

    private static func expectTask(_ args: CommandArguments, _ session: Session) throws(CommandError) -> CommandOutput {
        let pid = Int64(bitPattern: try args.integer(at: 1))
        let wanted = args.positionals[2].text
        let states = ["alive", "reaped"] + ["runnable", "running", "sleeping", "waiting", "zombie"]
        guard states.contains(wanted) else { throw args.usageError("task state must be one of \(states.joined(separator: ", "))") }
        let kernel = try FaultSessionState.kernel(session, for: "expect task")
        let task = try FaultDriver.wrap { () throws(FaultInjectionError) in try kernel.task(pid: pid) }
        let actual = task.map { $0.state.rawValue } ?? "reaped"
        let ok: Bool
        switch wanted {
        case "alive": ok = task.map { $0.state != .zombie && $0.state != .free } ?? false
        default: ok = actual == wanted
        }
        guard ok else { throw .failed("expectation failed: pid \(pid) is \(actual), expected \(wanted)") }
        return .message("ok: pid \(pid) \(actual)")
    }

    private static func expectCheck(_ wanted: String, _ session: Session) throws(CommandError) -> CommandOutput {
        let kernel = try FaultSessionState.kernel(session, for: "expect check")
        let report = try FaultDriver.wrap { () throws(FaultInjectionError) in try kernel.check() }
        if wanted == "clean" {
            guard report.findings.isEmpty else {
                let first = report.findings.prefix(3).map(\.description).joined(separator: "; ")
                throw .failed("expectation failed: \(report.findings.count) consistency finding(s): \(first)")
            }
            return .message("ok: consistency checks clean (\(report.tasksChecked) tasks, \(report.userPagesChecked) user pages)")
        }
        guard let kind = ConsistencyFinding.Kind(rawValue: wanted) else {
            throw .failed("expect check: \"\(CommandError.clipForFaults(wanted))\" is neither `clean` nor a finding kind")
        }
        guard let finding = report.findings.first(where: { $0.kind == kind }) else {
            throw .failed("expectation failed: no \(wanted) finding (\(report.findings.count) other finding(s))")
        }
        return .message("ok: \(wanted): \(finding.description)")
    }
}

extension CommandError {
    /// User text in an error, shortened to keep the error one line.
    static func clipForFaults(_ text: String) -> String {
        text.count <= 64 ? text : text.prefix(64) + "…"
    }
}
