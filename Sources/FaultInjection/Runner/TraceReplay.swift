/// `mmdbg replay`: re-runs a trace's lines on the same image with every
/// fault pinned to the hits that fired, and compares the UART transcript.
public struct TraceReplay: Sendable {
    /// The replayed run and where its transcript first differs (nil = identical).
    public struct Outcome: Sendable {
        public var result: ScenarioResult
        public var firstDifference: TranscriptDifference?
        public var identical: Bool { firstDifference == nil }
    }

    public var kernel: String

    public init(kernel: String) { self.kernel = kernel }

    public func replay(_ trace: FaultTrace) throws(FaultInjectionError) -> Outcome {
        let image = try ImageIdentity.of(path: kernel)
        guard image == trace.image else { throw .imageMismatch(expected: trace.image, actual: image) }
        var scenario = Scenario(path: trace.scenarioPath, name: trace.scenario,
                                lines: trace.lines.enumerated().map { Scenario.Line(number: $0.offset + 1, text: $0.element) })
        scenario.append = trace.append
        scenario.icountShift = trace.icountShift
        scenario.smp = trace.smp ?? 1
        scenario.timeout = trace.timeout
        let result = ScenarioRunner(kernel: kernel).run(scenario, pinnedHits: trace.pinnedHits)
        return Outcome(result: result, firstDifference: TranscriptDifference(expected: trace.transcript, actual: result.trace.transcript))
    }
}

/// The first byte where two transcripts differ, with the lines around it.
public struct TranscriptDifference: Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var expectedLine: String
    public var actualLine: String

    /// Nil when the transcripts are byte-for-byte equal.
    public init?(expected: String, actual: String) {
        let a = Array(expected.utf8), b = Array(actual.utf8)
        guard a != b else { return nil }
        var index = 0
        while index < min(a.count, b.count), a[index] == b[index] { index += 1 }
        offset = index
        expectedLine = TranscriptDifference.line(in: a, at: index)
        actualLine = TranscriptDifference.line(in: b, at: index)
    }

    private static func line(in bytes: [UInt8], at offset: Int) -> String {
        guard offset < bytes.count else { return "<end of transcript>" }
        var start = offset, end = offset
        while start > 0, bytes[start - 1] != 0x0A { start -= 1 }
        while end < bytes.count, bytes[end] != 0x0A { end += 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    public var description: String {
        "transcripts differ at byte \(offset): recorded \"\(expectedLine)\", replayed \"\(actualLine)\""
    }
}
