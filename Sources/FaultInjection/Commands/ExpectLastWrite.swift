import Foundation
import MmdbgCore

/// `expect last-write ADDR [LEN] in FUNCTION`: the last instruction that wrote ADDR before
/// this point of the scenario is in FUNCTION. It checks a recording: on a replay
/// (`mmdbg replay --debug DIR`, or the runner's own replay) it runs `last-write` and returns
/// to where it was; while `mmdbg run --record` records, the line notes the instruction count
/// and the runner checks it on a replay of the recording once the run is over.
public struct LastWriteExpectation: Sendable, Equatable {
    /// The address expression, as written (evaluated at the stop).
    public var address: String
    public var length: Int
    public var function: String

    public init(address: String, length: Int, function: String) {
        self.address = address
        self.length = length
        self.function = function
    }

    /// Parses the words after `expect`: `last-write ADDR [LEN] in FUNCTION`. One line when malformed.
    public static func parse(_ words: [String]) -> Result<LastWriteExpectation, ParseFailure> {
        let usage = "expect last-write ADDR [LEN] in FUNCTION"
        guard words.first == "last-write", let inIndex = words.firstIndex(of: "in") else {
            return .failure(ParseFailure(text: "wants `\(usage)`"))
        }
        let operands = Array(words[1..<inIndex])
        let after = Array(words[(inIndex + 1)...])
        guard (1...2).contains(operands.count), after.count == 1 else { return .failure(ParseFailure(text: "wants `\(usage)`")) }
        var length = 8
        if operands.count == 2 {
            guard let value = Int(operands[1]), (1...4096).contains(value) else {
                return .failure(ParseFailure(text: "LEN \"\(CommandError.clipForFaults(operands[1]))\" is not a byte count 1…4096"))
            }
            length = value
        }
        return .success(LastWriteExpectation(address: operands[0], length: length, function: after[0]))
    }

    public struct ParseFailure: Error, Sendable { public var text: String }

    /// True when the writer `function` (`sys_brk+0x24`) or its DWARF function is `wanted`.
    public static func names(_ wanted: String, function: String?, source: StopSource?) -> Bool {
        if let function, function.split(separator: "+").first.map(String.init) == wanted { return true }
        return source?.function == wanted
    }

    /// Runs the check on a replay; the target ends where it started.
    func evaluate(_ session: Session, timeout: Double) throws(CommandError) -> CommandOutput {
        let start = try session.requireReplayPosition(for: "expect last-write")
        let address = try session.evaluate(self.address)
        let answer = try session.lastWrite(address: address, length: length, timeout: timeout)
        if answer.found { try session.seekReplay(to: start, timeout: timeout) }
        try session.refreshStopState(reason: "expect last-write")
        session.refreshReplayPosition(direction: .forward)
        let writer = answer.function ?? answer.source?.function ?? answer.pc.map { Hex.format($0) } ?? "?"
        guard answer.found else {
            throw .failed("expectation failed: \(answer.text.first ?? "no write found"), expected one in \(function)")
        }
        guard Self.names(function, function: answer.function, source: answer.source) else {
            throw .failed("expectation failed: the last write to \(Hex.format(address)) (icount \(answer.report.position.map(String.init) ?? "?")) was in \(writer), not \(function)")
        }
        return .message("ok: the last write to \(Hex.format(address)) (icount \(answer.report.position.map(String.init) ?? "?")) was in \(writer)",
                        json: .object([("writer", .string(writer)), ("icount", answer.report.position.map { .uint($0) } ?? .null),
                                       ("lastWrite", answer.json)]))
    }
}

extension ExpectCommand {
    /// `expect last-write …` at the prompt or in a scenario (see `LastWriteExpectation`).
    static func expectLastWrite(_ args: CommandArguments, _ session: Session, within: Double) throws(CommandError) -> CommandOutput {
        let expectation: LastWriteExpectation
        switch LastWriteExpectation.parse(args.positionals.map(\.text)) {
        case .success(let parsed): expectation = parsed
        case .failure(let failure): throw args.usageError(failure.text)
        }
        let target = try session.requireStoppedTarget(for: "expect last-write")
        if target.canReverse { return try expectation.evaluate(session, timeout: within) }
        // Recording (`mmdbg run --record`): note where, for the runner's replay.
        let answer = (try? target.monitor("info replay")) ?? ""
        guard let icount = ReplayPosition.instructionCount(fromInfoReplay: answer, recording: true) else {
            throw .unavailable("expect last-write: checks a recording: run the scenario with `mmdbg run --record DIR` or at a `mmdbg replay --debug DIR` prompt")
        }
        FaultSessionState.of(session).deferredLastWrites.append((icount, "expect " + args.positionals.map(\.text).joined(separator: " "), expectation))
        return .message("noted: checked on the replay of the recording at icount \(icount)")
    }
}
