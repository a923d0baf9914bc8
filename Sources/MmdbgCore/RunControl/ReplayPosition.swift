import Foundation

/// Where a replay stands: QEMU's instruction count (`info replay`) and the
/// direction of the last run-control command. The prompt shows it
/// (`(mmdbg stopped at map_page task 3 @icount 123456 reverse) `).
public struct ReplayPosition: Equatable, Sendable {
    public var instructionCount: UInt64
    public var direction: RunDirection

    public init(instructionCount: UInt64, direction: RunDirection) {
        self.instructionCount = instructionCount
        self.direction = direction
    }

    /// Parses QEMU 7.2's `info replay` answer:
    /// `Replaying execution 'rr.bin': instruction count = 1234`. Nil for anything else
    /// (`Record/replay is not active`); a recording being made (`Recording execution …`) only
    /// with `recording`.
    public static func instructionCount(fromInfoReplay text: String, recording: Bool = false) -> UInt64? {
        guard text.hasPrefix("Replaying execution") || (recording && text.hasPrefix("Recording execution")), let range = text.range(of: "instruction count = ") else { return nil }
        return UInt64(text[range.upperBound...].prefix { $0.isNumber })
    }

    public var promptSuffix: String { " @icount \(instructionCount)" + (direction == .reverse ? " reverse" : "") }

    public var json: JSONValue {
        .object([("icount", .int(Int64(bitPattern: instructionCount))), ("direction", .string(direction.rawValue))])
    }
}

extension Session {
    /// The prompt (`prompt`): the replay position shows there when replaying.
    public var promptText: String { prompt }

    /// Asks QEMU for the instruction count (a target that cannot reverse is not replaying:
    /// nil, without a round trip) and remembers it with `direction` for the prompt.
    @discardableResult
    public func refreshReplayPosition(direction: RunDirection) -> UInt64? {
        guard let target, target.canReverse, target.runState == .stopped,
              let text = try? target.monitor("info replay"),
              let count = ReplayPosition.instructionCount(fromInfoReplay: text) else {
            replayPosition = nil
            return nil
        }
        replayPosition = ReplayPosition(instructionCount: count, direction: direction)
        return count
    }

    /// The instruction count now, or a one-line error when the target is not a replay.
    public func requireReplayPosition(for command: String) throws(CommandError) -> UInt64 {
        let target = try requireStoppedTarget(for: command)
        guard target.canReverse else {
            throw .unavailable("\(command): needs a recording replayed by QEMU (`mmdbg replay --debug DIR`)")
        }
        let text = try target.monitor("info replay")
        guard let count = ReplayPosition.instructionCount(fromInfoReplay: text) else {
            throw .target("\(command): QEMU did not say where the replay is: \(CommandError.clip(text))")
        }
        return count
    }
}
