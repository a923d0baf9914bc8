import Foundation
import MmdbgCore

/// A campaign's (or one shard's) results: what was swept, on which image, and every run.
/// `sweep.json` in a result directory; `--merge` combines shards' reports run for run.
public struct SweepReport: Codable, Sendable, Equatable {
    public var format = 1
    public var kernel: String
    public var image: String
    public var scenario: String
    public var append: String?
    public var sites: [String]
    public var pid: Int64?
    public var action: String
    /// Hits the golden run counted, and what it ended with.
    public var goldenHits: Int
    public var goldenFreePages: UInt64
    /// Runs in the whole campaign (every shard), and the shards these results come from.
    public var campaignRuns: Int
    public var shards: [String]
    public var results: [SweepResult]

    public init(golden: SweepGolden, scenario: String, campaignRuns: Int, shard: (index: Int, count: Int), results: [SweepResult]) {
        kernel = golden.kernel
        image = golden.image
        self.scenario = scenario
        append = golden.append
        sites = golden.sites
        pid = golden.pid
        action = golden.action
        goldenHits = golden.points.count
        goldenFreePages = golden.freePages
        self.campaignRuns = campaignRuns
        shards = ["\(shard.index)/\(shard.count)"]
        self.results = results
    }

    public var findings: [SweepResult] { results.filter { $0.outcome.isFinding } }

    /// Runs with the same signature, in order of first appearance.
    public var groups: [(signature: String, runs: [SweepResult])] {
        var order: [String] = []
        var runs: [String: [SweepResult]] = [:]
        for result in results {
            if runs[result.signature] == nil { order.append(result.signature) }
            runs[result.signature, default: []].append(result)
        }
        return order.map { ($0, runs[$0]!) }
    }

    /// Campaign runs no result covers (a shard missing from a merge).
    public var missingRuns: [Int] {
        let have = Set(results.map(\.run.index))
        return (1...max(campaignRuns, 1)).filter { !have.contains($0) && campaignRuns > 0 }
    }

    // MARK: merge

    public struct MergeError: Error, CustomStringConvertible {
        public let description: String
    }

    /// One report from shards of the same campaign: results by campaign index.
    public static func merge(_ reports: [SweepReport]) throws(MergeError) -> SweepReport {
        guard var merged = reports.first else { throw MergeError(description: "nothing to merge") }
        var byIndex: [Int: SweepResult] = [:]
        for report in reports {
            guard report.image == merged.image, report.sites == merged.sites, report.action == merged.action,
                  report.pid == merged.pid, report.append == merged.append, report.campaignRuns == merged.campaignRuns,
                  report.scenario == merged.scenario else {
                throw MergeError(description: "shard \(report.shards.joined(separator: ",")) is from another campaign (image, scenario, sites, action, pid or run count differ)")
            }
            for result in report.results {
                if let earlier = byIndex[result.run.index], earlier.run != result.run || earlier.outcome != result.outcome {
                    throw MergeError(description: "run \(result.run.index) appears twice with different results (\(earlier.outcome.rawValue), \(result.outcome.rawValue))")
                }
                byIndex[result.run.index] = result
            }
        }
        merged.shards = reports.flatMap(\.shards)
        merged.results = byIndex.keys.sorted().map { byIndex[$0]! }
        return merged
    }

    // MARK: files

    public static let fileName = "sweep.json"

    public func write(toDirectory directory: String) throws(FaultInjectionError) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent(SweepReport.fileName)
        do { try SweepReport.encode(self).write(to: URL(fileURLWithPath: path)) } catch {
            throw .badFile(path: path, line: nil, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// `DIR/sweep.json`, or (a `--plan` result directory) every `run-*.json` with `DIR/../plan.json`.
    public static func read(directory: String) throws(FaultInjectionError) -> SweepReport {
        let path = (directory as NSString).appendingPathComponent(fileName)
        if FileManager.default.fileExists(atPath: path) { return try decode(SweepReport.self, path) }
        throw .badFile(path: directory, line: nil, reason: "no \(fileName) (not a sweep result directory)")
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ path: String) throws(FaultInjectionError) -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badFile(path: path, line: nil, reason: "cannot read")
        }
        do { return try JSONDecoder().decode(type, from: data) } catch let error as DecodingError {
            throw .badFile(path: path, line: nil, reason: "not an mmdbg sweep file: \(FaultTrace.reason(error))")
        } catch {
            throw .badFile(path: path, line: nil, reason: "not an mmdbg sweep file: \(error)")
        }
    }

    // MARK: rendering

    public func table() -> String {
        var table = TextTable(columns: [TextTable.Column("run", .right), TextTable.Column("site"), TextTable.Column("hit", .right),
                                        TextTable.Column("task", .right), TextTable.Column("caller"), TextTable.Column("outcome"),
                                        TextTable.Column("detail")])
        for result in results {
            for (offset, point) in result.run.points.enumerated() {
                table.rows.append([offset == 0 ? "\(result.run.index)" : "", point.site, "\(point.hit)",
                                   point.pid.map(String.init) ?? "-", point.callerSymbol ?? Hex.format(point.caller),
                                   offset == 0 ? result.outcome.rawValue : "", offset == 0 ? result.detail : ""])
            }
        }
        var text = TextRenderer(colour: false).render(table: table)
        text += "\n\nsignatures:"
        for group in groups {
            text += "\n  \(group.runs.count) × \(group.signature)"
                + (group.runs[0].outcome.isFinding ? "  (runs \(group.runs.map { String($0.run.index) }.joined(separator: ",")))" : "")
        }
        for finding in findings where finding.reproducer != nil {
            text += "\n  reproducer: \(finding.reproducer!)"
        }
        let missing = missingRuns
        text += "\n\n\(results.count) run(s) of \(campaignRuns) (golden: \(goldenHits) hit(s) of \(sites.joined(separator: ","))), "
            + "\(findings.count) finding(s) in \(Set(findings.map(\.signature)).count) signature(s)"
        if !missing.isEmpty && shards.count > 1 { text += "; missing runs: \(missing.prefix(20).map(String.init).joined(separator: ","))" }
        return text
    }

    public func json() -> String {
        (try? SweepReport.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// One test case per run; a finding is a failure.
    public func junit() -> String {
        let total = results.reduce(0) { $0 + $1.seconds }
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuite name="mmdbg-sweep" tests="\#(results.count)" failures="\#(findings.count)" errors="0" time="\#(String(format: "%.3f", total))">"# + "\n"
        for result in results {
            let name = String(format: "%04d ", result.run.index) + result.run.label
            xml += #"  <testcase classname="sweep.\#(RunReport.escape(sites.joined(separator: "_")))" name="\#(RunReport.escape(name))" time="\#(String(format: "%.3f", result.seconds))">"# + "\n"
            if result.outcome.isFinding {
                let body = [result.signature] + (result.reproducer.map { ["reproducer: \($0)"] } ?? [])
                xml += #"    <failure message="\#(RunReport.escape(result.outcome.rawValue + ": " + result.detail))">\#(RunReport.escape(body.joined(separator: "\n")))</failure>"# + "\n"
            } else {
                xml += "    <system-out>\(RunReport.escape(result.outcome.rawValue + (result.detail.isEmpty ? "" : ": " + result.detail)))</system-out>\n"
            }
            xml += "  </testcase>\n"
        }
        return xml + "</testsuite>\n"
    }
}

/// `--plan`: the golden run and the campaign's runs, so `--run-one N` can run one without a golden run of its own.
public struct SweepPlanFile: Codable, Sendable {
    public var format = 1
    public var golden: SweepGolden
    public var scenario: String
    public var deadline: Double
    public var runs: [SweepRun]

    public init(golden: SweepGolden, scenario: String, deadline: Double, runs: [SweepRun]) {
        self.golden = golden
        self.scenario = scenario
        self.deadline = deadline
        self.runs = runs
    }

    public static let fileName = "plan.json"

    public func write(toDirectory directory: String) throws(FaultInjectionError) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent(SweepPlanFile.fileName)
        do { try SweepReport.encode(self).write(to: URL(fileURLWithPath: path)) } catch {
            throw .badFile(path: path, line: nil, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    public static func read(_ path: String) throws(FaultInjectionError) -> SweepPlanFile {
        try SweepReport.decode(SweepPlanFile.self, path)
    }

    /// One shell line per run; each writes `OUT/run-NNNN/sweep.json`, which `--merge OUT/run-*` combines.
    public func lines(planPath: String, outDirectory: String, mmdbg: String = "mmdbg") -> [String] {
        runs.map { run in
            "\(mmdbg) sweep --run-one \(run.index) --plan-file \(shellQuoted(planPath)) --out \(shellQuoted((outDirectory as NSString).appendingPathComponent(String(format: "run-%04d", run.index))))"
        }
    }

    func shellQuoted(_ text: String) -> String {
        text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+".contains($0) } ? text : "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }
}
