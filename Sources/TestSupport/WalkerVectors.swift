import Foundation
import Inspect

/// Test vectors for the AArch64 translation-table walker, shared by Inspect
/// (Swift) and gdb/mm_aarch64.py (Python): `Tests/Vectors/translation/*.json`.
///
/// Each vector is the input (translation registers, sparse physical memory of
/// 64-bit descriptors, physical ranges that cannot be read, query VAs) and the
/// answers Inspect's `TranslationTableWalker` gives: every query's walk,
/// output address, attributes or fault, and the dump's runs, problems and
/// counts. The inputs are built here from `SyntheticAddressSpace`; the
/// expected values are never written by hand. `gen-walker-vectors` writes the
/// files and `--check` diffs them; InspectTests does the same in process.
public enum WalkerVectors {
    /// Where the files live, relative to the package root.
    public static let directory = "Tests/Vectors/translation"

    /// One vector's input.
    public struct Input: Sendable {
        public var name: String
        public var summary: String
        public var registers: TranslationRegisters
        /// (physical address, descriptor), ascending; zero words are left out.
        public var memory: [(address: UInt64, value: UInt64)]
        /// Physical ranges whose reads fail (device memory, nothing there).
        public var unreadable: [ClosedRange<UInt64>]
        public var queries: [UInt64]

        /// Guest memory holding this input.
        public func makeMemory() -> SyntheticMemory {
            let memory = SyntheticMemory()
            for word in self.memory { memory.store64(word.value, at: word.address) }
            memory.unreadable = unreadable
            return memory
        }

        /// The file name: `name.json`.
        public var fileName: String { name + ".json" }
    }

    // MARK: rendering (expected values from Inspect)

    /// The whole file for `input`: the input and Inspect's answers, as stable JSON text.
    public static func render(_ input: Input) throws -> String {
        let walker = TranslationTableWalker(memory: input.makeMemory(), context: TranslationContext(registers: input.registers))
        let translations = try walker.translate(input.queries)
        let dump = try walker.dump()
        var lines = ["{"]
        lines.append("  \"name\": \(quote(input.name)),")
        lines.append("  \"summary\": \(quote(input.summary)),")
        let r = input.registers
        lines.append("  \"registers\": {\"sctlr\": \(h(r.sctlr)), \"tcr\": \(h(r.tcr)), \"mair\": \(h(r.mair)), "
                     + "\"ttbr0\": \(h(r.ttbr0)), \"ttbr1\": \(h(r.ttbr1))},")
        lines.append("  \"unreadable\": [\(input.unreadable.map { "[\(h($0.lowerBound)), \(h($0.upperBound))]" }.joined(separator: ", "))],")
        lines.append("  \"memory\": {")
        lines.append(input.memory.map { "    \(h($0.address)): \(h($0.value))" }.joined(separator: ",\n"))
        lines.append("  },")
        lines.append("  \"queries\": [")
        lines.append(translations.map { "    " + query($0) }.joined(separator: ",\n"))
        lines.append("  ],")
        // Inspect walks both halves level by level; list each half's problems together (walk order within a half).
        let problems = dump.problems.filter { $0.half == .lower } + dump.problems.filter { $0.half == .upper }
        let s = dump.statistics
        lines.append("  \"dump\": {")
        lines.append("    \"tablesPerLevel\": \(s.tablesPerLevel), \"blocksPerLevel\": \(s.blocksPerLevel), \"pages\": \(s.pages),")
        lines.append("    \"runs\": [")
        lines.append(dump.runs.map { "      " + run($0) }.joined(separator: ",\n"))
        lines.append("    ],")
        lines.append("    \"problems\": [")
        lines.append(problems.map { "      " + problem($0) }.joined(separator: ",\n"))
        lines.append("    ]")
        lines.append("  }")
        lines.append("}")
        // Empty lists leave an empty line behind: drop it so `[` and `]` meet.
        return lines.filter { !$0.isEmpty }.joined(separator: "\n") + "\n"
    }

    static func h(_ value: UInt64) -> String { "\"0x" + String(value, radix: 16) + "\"" }

    static func quote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func attributes(_ a: MappingAttributes) -> String {
        "{\"el1\": \"\(a.kernel)\", \"el0\": \"\(a.user)\", \"memoryAttr\": \(h(UInt64(a.memoryType.encoding))), "
            + "\"sh\": \"\(a.shareability.rawValue)\", \"af\": \(a.accessFlag), \"nG\": \(!a.global), \"ns\": \(a.nonSecure), "
            + "\"cont\": \(a.contiguous), \"dbm\": \(a.dirtyBitModifier)}"
    }

    static func query(_ t: Translation) -> String {
        let steps = t.steps.map { "[\($0.level), \(h($0.descriptorAddress)), \(h($0.descriptor.raw)), \"\($0.descriptor.kind.rawValue)\"]" }
        let fault = t.fault.map { "{\"kind\": \"\($0.kind.rawValue)\", \"level\": \($0.level.map(String.init) ?? "null")}" } ?? "null"
        return "{\"va\": \(h(t.virtualAddress)), \"half\": \(t.half.map { "\"\($0.rawValue)\"" } ?? "null"), "
            + "\"pa\": \(t.physicalAddress.map(h) ?? "null"), \"leafLevel\": \(t.leafLevel.map(String.init) ?? "null"), "
            + "\"leafSize\": \(t.leafSize.map(h) ?? "null"), \"attributes\": \(t.attributes.map(attributes) ?? "null"), "
            + "\"fault\": \(fault), \"steps\": [\(steps.joined(separator: ", "))]}"
    }

    static func run(_ r: MappingRun) -> String {
        "{\"half\": \"\(r.half.rawValue)\", \"va\": \(h(r.virtualStart)), \"size\": \(h(r.size)), \"pa\": \(h(r.physicalStart)), "
            + "\"leafLevel\": \(r.leafLevel), \"leafSize\": \(h(r.leafSize)), \"leafCount\": \(r.leafCount), "
            + "\"attributes\": \(attributes(r.attributes))}"
    }

    /// What kind of problem Inspect reported (its detail text is for people, this is for the Python walker to match).
    static func problemKind(_ detail: String) -> String {
        if detail.hasPrefix("table cannot be read") { return "unreadableTable" }
        if detail.contains("(repeated table") { return "repeatedTable" }
        if detail.contains("(loop") { return "loop" }
        if detail.contains("physical address size") { return "addressSize" }
        return "reserved"
    }

    static func problem(_ p: WalkProblem) -> String {
        "{\"half\": \"\(p.half.rawValue)\", \"level\": \(p.level), \"entry\": \(h(p.tableAddress &+ UInt64(p.index) * 8)), "
            + "\"va\": \(h(p.virtualAddress)), \"raw\": \(h(p.raw)), \"kind\": \"\(problemKind(p.detail))\", \"detail\": \(quote(p.detail))}"
    }

    // MARK: reading a file back

    /// Errors reading a vector file, one line each.
    public struct FormatError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The input part of a vector file (what `render` needs to reproduce it).
    public static func input(fromJSON data: Data, file: String) throws -> Input {
        func fail(_ what: String) -> FormatError { FormatError(description: "\(file): \(what)") }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw fail("not a JSON object") }
        func number(_ value: Any?, _ what: String) throws -> UInt64 {
            guard let text = value as? String, text.hasPrefix("0x"), let n = UInt64(text.dropFirst(2), radix: 16) else {
                throw fail("\(what) is not a \"0x…\" string")
            }
            return n
        }
        guard let name = object["name"] as? String, let summary = object["summary"] as? String,
              let registers = object["registers"] as? [String: Any], let memory = object["memory"] as? [String: Any],
              let unreadable = object["unreadable"] as? [[Any]], let queries = object["queries"] as? [[String: Any]] else {
            throw fail("missing name, summary, registers, memory, unreadable or queries")
        }
        var words: [(address: UInt64, value: UInt64)] = []
        for (address, value) in memory { words.append((try number(address, "memory address"), try number(value, "memory word"))) }
        words.sort { $0.address < $1.address }
        var ranges: [ClosedRange<UInt64>] = []
        for range in unreadable {
            guard range.count == 2 else { throw fail("an unreadable range is not [first, last]") }
            let first = try number(range[0], "unreadable start"), last = try number(range[1], "unreadable end")
            guard first <= last else { throw fail("unreadable range ends before it starts") }
            ranges.append(first...last)
        }
        return Input(name: name, summary: summary,
                     registers: TranslationRegisters(sctlr: try number(registers["sctlr"], "sctlr"), tcr: try number(registers["tcr"], "tcr"),
                                                     mair: try number(registers["mair"], "mair"), ttbr0: try number(registers["ttbr0"], "ttbr0"),
                                                     ttbr1: try number(registers["ttbr1"], "ttbr1")),
                     memory: words, unreadable: ranges, queries: try queries.map { try number($0["va"], "query va") })
    }

    // MARK: generation

    /// Every vector file: (file name, text).
    public static func generate() throws -> [(fileName: String, text: String)] {
        try all().map { ($0.fileName, try render($0)) }
    }

    /// Compares `generate()` with the files under `root`: a list of drift lines, empty when they agree.
    public static func drift(root: URL) throws -> [String] {
        let folder = root.appendingPathComponent(directory)
        let expected = try generate()
        var problems: [String] = []
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter { $0.hasSuffix(".json") } ?? [])
        for (fileName, text) in expected {
            let path = folder.appendingPathComponent(fileName)
            guard let current = try? String(contentsOf: path, encoding: .utf8) else {
                problems.append("\(directory)/\(fileName) is missing")
                continue
            }
            if current != text {
                let old = current.split(separator: "\n", omittingEmptySubsequences: false)
                let new = text.split(separator: "\n", omittingEmptySubsequences: false)
                let line = zip(old, new).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(old.count, new.count)
                let was = line < old.count ? String(old[line]) : "(end of file)"
                let now = line < new.count ? String(new[line]) : "(end of file)"
                problems.append("\(directory)/\(fileName):\(line + 1) differs\n  committed: \(was)\n  generated: \(now)")
            }
        }
        for stale in present.subtracting(expected.map(\.fileName)).sorted() {
            problems.append("\(directory)/\(stale) is not generated (remove it or add its vector)")
        }
        return problems
    }

    /// Writes every file (and removes stale ones) under `root`.
    public static func write(root: URL) throws {
        let folder = root.appendingPathComponent(directory)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let files = try generate()
        for name in (try FileManager.default.contentsOfDirectory(atPath: folder.path)) where name.hasSuffix(".json")
            && !files.contains(where: { $0.fileName == name }) {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
        for (fileName, text) in files {
            try Data(text.utf8).write(to: folder.appendingPathComponent(fileName))
        }
    }
}
