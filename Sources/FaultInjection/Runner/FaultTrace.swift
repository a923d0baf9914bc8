import Foundation

/// What a scenario run saves so `mmdbg replay` can reproduce it: the image
/// identity, the boot parameters, the executed lines, every firing, and the
/// UART transcript the replay must reach byte for byte.
public struct FaultTrace: Codable, Sendable, Equatable {
    public var format = 1
    public var scenario: String
    public var scenarioPath: String
    public var kernel: String
    public var image: String
    public var append: String?
    public var icountShift: Int
    public var timeout: Double
    /// The command lines that ran (failing line included), in order.
    public var lines: [String]
    /// Every firing, in order.
    public var hits: [FaultHit]
    public var transcript: String

    /// Fault id → the eligible hits that fired (what a replay pins).
    public var pinnedHits: [Int: [Int]] {
        var pins: [Int: [Int]] = [:]
        for hit in hits { pins[hit.fault, default: []].append(hit.hit) }
        return pins
    }

    public func write(to path: String) throws(FaultInjectionError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(self).write(to: URL(fileURLWithPath: path)) } catch {
            throw .badFile(path: path, line: nil, reason: "cannot write the trace: \(error.localizedDescription)")
        }
    }

    public static func read(from path: String) throws(FaultInjectionError) -> FaultTrace {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badFile(path: path, line: nil, reason: "cannot read the trace")
        }
        do { return try JSONDecoder().decode(FaultTrace.self, from: data) } catch {
            throw .badFile(path: path, line: nil, reason: "not an mmdbg fault trace (\(error.localizedDescription))")
        }
    }
}
