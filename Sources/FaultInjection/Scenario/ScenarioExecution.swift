import Foundation
import MmdbgCore

/// Runs a scenario's lines in a session, stopping at the first failure.
public enum ScenarioExecution {
    /// One executed line and how it went.
    public struct LineOutcome: Sendable {
        public var line: Scenario.Line
        /// The command's text output, or its one-line error.
        public var text: String
        public var succeeded: Bool
        /// Wall-clock time the line took (for finding slow steps, never asserted).
        public var seconds: Double
    }

    public static func execute(_ scenario: Scenario, in session: Session) -> [LineOutcome] {
        var outcomes: [LineOutcome] = []
        let renderer = TextRenderer(colour: false)
        for line in scenario.lines {
            let started = Date()
            let result = session.execute(line: line.text)
            let seconds = Date().timeIntervalSince(started)
            switch result.outcome {
            case .success(let output):
                outcomes.append(LineOutcome(line: line, text: renderer.render(output), succeeded: true, seconds: seconds))
            case .failure(let error):
                outcomes.append(LineOutcome(line: line, text: renderer.render(error: error), succeeded: false, seconds: seconds))
                return outcomes
            }
        }
        return outcomes
    }
}
