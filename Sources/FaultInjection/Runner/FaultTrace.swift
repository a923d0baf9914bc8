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
    /// QEMU's -smp (absent in traces written before SMP: one CPU).
    public var smp: Int?
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
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .badFile(path: path, line: nil, reason: "no such trace file")
        }
        guard !isDirectory.boolValue else { throw .badFile(path: path, line: nil, reason: "a directory, not a trace file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badFile(path: path, line: nil, reason: "cannot read the trace")
        }
        do { return try JSONDecoder().decode(FaultTrace.self, from: data) } catch let error as DecodingError {
            throw .badFile(path: path, line: nil, reason: "not an mmdbg fault trace: \(FaultTrace.reason(error))")
        } catch {
            throw .badFile(path: path, line: nil, reason: "not an mmdbg fault trace: \(error)")
        }
    }

    /// Foundation's text for a decoding error ("The data couldn't be read because
    /// it is missing.") names neither the key nor the problem: one line that does.
    static func reason(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ last: CodingKey? = nil) -> String {
            let keys = context.codingPath + (last.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .keyNotFound(let key, let context): return "key \"\(path(context, key))\" is missing"
        case .valueNotFound(_, let context): return "key \"\(path(context))\" is null"
        case .typeMismatch(let type, let context): return "key \"\(path(context))\" is not \(typeName(type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "key \"\(path(context))\": \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Double.Type, is UInt64.Type, is Int64.Type: return "a number"
        case is Bool.Type: return "true or false"
        default: return type is any Collection.Type ? "a list" : "an object"
        }
    }
}
