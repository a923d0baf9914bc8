import Foundation

/// A scenario file: lines of the mmdbg command language (the REPL's, plus
/// `inject`, `go`, `baseline`, `expect`), `#` comments, and `#!` directives
/// for the runner that boots it:
///
///     #! append tests=oom      kernel command line (QEMU -append)
///     #! icount 4              -icount shift (default 4)
///     #! timeout 60            wall-clock guard for the whole scenario (s)
///     #! smp 2                 CPUs (-smp, 1…8; default 1); under -icount QEMU runs them
///                              round robin on one thread, so runs stay deterministic
public struct Scenario: Sendable, Equatable {
    public struct Line: Sendable, Equatable {
        public var number: Int
        public var text: String
    }

    public var path: String
    /// The file name without `.mmdbg`.
    public var name: String
    public var lines: [Line]
    public var append: String?
    public var icountShift = Scenario.defaultIcountShift
    public var timeout: Double = 60
    /// QEMU's -smp.
    public var smp = 1
    /// The first comment line (what the scenario is about).
    public var summary: String?

    public static let defaultIcountShift = 4

    public init(path: String, name: String, lines: [Line]) {
        self.path = path
        self.name = name
        self.lines = lines
    }

    /// Reads and parses `path`.
    public init(contentsOf path: String) throws(FaultInjectionError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badFile(path: path, line: nil, reason: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .badFile(path: path, line: nil, reason: "not UTF-8 text")
        }
        try self.init(text: text, path: path)
    }

    /// Parses scenario text; `path` names it in errors.
    public init(text: String, path: String) throws(FaultInjectionError) {
        let base = (path as NSString).lastPathComponent
        self.init(path: path, name: base.hasSuffix(".mmdbg") ? String(base.dropLast(6)) : base, lines: [])
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#!") {
                try directive(String(line.dropFirst(2)).trimmingCharacters(in: .whitespaces), line: index + 1)
            } else if line.hasPrefix("#") {
                if summary == nil {
                    let comment = line.drop(while: { $0 == "#" }).trimmingCharacters(in: .whitespaces)
                    if !comment.isEmpty { summary = comment }
                }
            } else if !line.isEmpty {
                try Scenario.checkExpectation(line, path: path, number: index + 1)
                lines.append(Line(number: index + 1, text: line))
            }
        }
        guard !lines.isEmpty else { throw .badFile(path: path, line: nil, reason: "no commands") }
    }

    /// `expect last-write ADDR [LEN] in FUNCTION` is checked when the file is read (it may only run
    /// on a replay, long after the scenario started).
    static func checkExpectation(_ line: String, path: String, number: Int) throws(FaultInjectionError) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard words.count >= 2, words[0] == "expect", words[1] == "last-write" else { return }
        let operands = Array(words.dropFirst().prefix { !$0.hasPrefix("--") && !$0.hasPrefix("#") })
        if case .failure(let failure) = LastWriteExpectation.parse(operands) {
            throw .badFile(path: path, line: number, reason: failure.text)
        }
    }

    private mutating func directive(_ text: String, line: Int) throws(FaultInjectionError) {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        let value = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        switch parts.first ?? "" {
        case "append": append = value
        case "icount":
            guard let shift = Int(value), (0...10).contains(shift) else {
                throw .badFile(path: path, line: line, reason: "#! icount wants a shift 0…10")
            }
            icountShift = shift
        case "timeout":
            guard let seconds = Double(value), seconds > 0, seconds <= 3600 else {
                throw .badFile(path: path, line: line, reason: "#! timeout wants seconds (0…3600]")
            }
            timeout = seconds
        case "smp":
            guard let cpus = Int(value), (1...8).contains(cpus) else {
                throw .badFile(path: path, line: line, reason: "#! smp wants a CPU count 1…8")
            }
            smp = cpus
        default:
            throw .badFile(path: path, line: line, reason: "unknown directive \"#! \(parts.first ?? "")\" (append, icount, timeout, smp)")
        }
    }
}
