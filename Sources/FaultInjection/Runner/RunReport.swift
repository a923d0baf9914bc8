import Foundation
import MmdbgCore

/// Renders scenario results: the pass/fail table (with each failure's
/// fault trace and last log lines), JUnit XML and JSON.
public enum RunReport {
    /// Exit status of `mmdbg run`: the number of failures, capped at 125
    /// (126+ mean "cannot execute" / signals to shells).
    public static func exitStatus(_ results: [ScenarioResult]) -> Int32 {
        Int32(min(results.filter { !$0.passed }.count, 125))
    }

    public static func table(_ results: [ScenarioResult]) -> String {
        var table = TextTable(columns: [TextTable.Column("scenario"), TextTable.Column("result"),
                                        TextTable.Column("faults", .right), TextTable.Column("seconds", .right)])
        for result in results {
            table.rows.append([result.scenario.name, result.passed ? "pass" : "FAIL", "\(result.trace.hits.count)",
                               String(format: "%.1f", result.seconds)])
        }
        var text = TextRenderer(colour: false).render(table: table)
        for result in results where !result.passed {
            text += "\n\n\(result.scenario.name) FAILED: \(result.failure ?? "?")"
            text += "\n  fault trace:" + (result.trace.hits.isEmpty ? " (no fault fired)" : "")
            for hit in result.trace.hits.prefix(20) { text += "\n    " + hit.description }
            if result.trace.hits.count > 20 { text += "\n    … \(result.trace.hits.count - 20) more" }
            text += "\n  last log lines:"
            for line in result.lastLogLines() { text += "\n    " + line }
        }
        let failed = results.filter { !$0.passed }.count
        text += "\n\n\(results.count - failed) passed, \(failed) failed, \(results.count) run"
        return text
    }

    public static func junit(_ results: [ScenarioResult]) -> String {
        let failures = results.filter { !$0.passed }.count
        let total = results.reduce(0) { $0 + $1.seconds }
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuite name="mmdbg-scenarios" tests="\#(results.count)" failures="\#(failures)" errors="0" time="\#(String(format: "%.3f", total))">"# + "\n"
        for result in results {
            xml += #"  <testcase classname="scenarios" name="\#(escape(result.scenario.name))" time="\#(String(format: "%.3f", result.seconds))">"# + "\n"
            if !result.passed {
                let body = (result.trace.hits.map(\.description) + ["last log lines:"] + result.lastLogLines()).joined(separator: "\n")
                xml += #"    <failure message="\#(escape(result.failure ?? "failed"))">\#(escape(body))</failure>"# + "\n"
            }
            xml += "    <system-out>\(escape(result.trace.transcript))</system-out>\n"
            xml += "  </testcase>\n"
        }
        return xml + "</testsuite>\n"
    }

    public static func json(_ results: [ScenarioResult], tracePaths: [String: String] = [:]) -> JSONValue {
        .object([
            ("passed", .int(Int64(results.filter(\.passed).count))),
            ("failed", .int(Int64(results.filter { !$0.passed }.count))),
            ("scenarios", .array(results.map { result in
                .object([("name", .string(result.scenario.name)), ("path", .string(result.scenario.path)),
                         ("passed", .bool(result.passed)), ("failure", result.failure.map(JSONValue.string) ?? .null),
                         ("seconds", .double(result.seconds)), ("trace", .array(result.trace.hits.map(TraceJSON.hit))),
                         ("lines", .array(result.lines.map { line in
                             .object([("line", .int(Int64(line.line.number))), ("command", .string(line.line.text)),
                                      ("ok", .bool(line.succeeded)), ("seconds", .double(line.seconds))]) })),
                         ("tracePath", tracePaths[result.scenario.path].map(JSONValue.string) ?? .null),
                         ("lastLogLines", .array(result.lastLogLines().map(JSONValue.string)))])
            })),
        ])
    }

    /// XML text/attribute escaping; control characters (not allowed in XML 1.0) become U+FFFD.
    public static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default: out.unicodeScalars.append(scalar.value < 0x20 ? "\u{FFFD}" : scalar)
            }
        }
        return out
    }
}
