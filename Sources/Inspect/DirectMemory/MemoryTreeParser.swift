import Foundation

/// One line of a flat view in QEMU's `info mtree -f`:
/// `0000000040000000-0000000047ffffff (prio 0, ram): ram @0000000000000000`.
public struct FlatMemoryRange: Sendable, Equatable {
    public var start: UInt64
    /// Bytes (the line gives the inclusive last address).
    public var size: UInt64
    public var priority: Int
    /// `ram`, `rom`, `romd`, `ramd`, `i/o` (with `nv-` for non-volatile ones).
    public var kind: String
    /// The memory region's name (for the machine's RAM, the backend's id).
    public var name: String
    /// Offset of `start` inside the region (`@…`; 0 when absent): for a file
    /// backend, the offset in the file.
    public var offsetInRegion: UInt64

    public init(start: UInt64, size: UInt64, priority: Int, kind: String, name: String, offsetInRegion: UInt64) {
        self.start = start
        self.size = size
        self.priority = priority
        self.kind = kind
        self.name = name
        self.offsetInRegion = offsetInRegion
    }

    /// Plain guest RAM (not ROM, not device RAM, not MMIO).
    public var isRAM: Bool { kind == "ram" }
}

/// Why monitor output could not be understood. One line each.
public enum MemoryTreeError: Error, Sendable, Equatable, CustomStringConvertible {
    case noFlatView(addressSpace: String)
    case malformedLine(String)
    case malformedTranslation(String)

    public var description: String {
        switch self {
        case .noFlatView(let space): return "`info mtree -f` shows no flat view of address space \"\(space)\""
        case .malformedLine(let line): return "`info mtree -f` line not understood: \(line)"
        case .malformedTranslation(let text): return "`gpa2hva` answer not understood: \(text)"
        }
    }
}

/// Reads QEMU monitor output about memory (`info mtree -f`, `gpa2hva`). No I/O.
public enum MemoryTreeParser {
    /// The ranges of the flat view that serves `addressSpace` (`memory`, the
    /// system address space the CPUs and the gdbstub see).
    public static func flatRanges(_ text: String, addressSpace: String = "memory") throws(MemoryTreeError) -> [FlatMemoryRange] {
        var inWantedView = false
        var found = false
        var ranges: [FlatMemoryRange] = []
        // Over qRcmd the monitor ends lines with "\r\n", one Character in Swift: split on any line end.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)[...]
            if line.hasPrefix("FlatView #") {
                if found { break }
                inWantedView = false
                continue
            }
            if line.hasPrefix("AS \"") {
                let name = line.dropFirst(4).prefix { $0 != "\"" }
                if name == addressSpace { inWantedView = true; found = true }
                continue
            }
            guard inWantedView, let first = line.first, first.isHexDigit, line.contains("(prio ") else { continue }
            guard let range = parseRange(line) else { throw .malformedLine(String(line)) }
            ranges.append(range)
        }
        guard found else { throw .noFlatView(addressSpace: addressSpace) }
        return ranges
    }

    /// `START-LAST (prio P, KIND): NAME[ @OFFSET]`; nil when the line has another shape.
    static func parseRange(_ line: Substring) -> FlatMemoryRange? {
        guard let dash = line.firstIndex(of: "-"), let open = line.range(of: " (prio "),
              let close = line.range(of: "): ", range: open.upperBound..<line.endIndex) else { return nil }
        guard let start = UInt64(line[..<dash], radix: 16),
              let last = UInt64(line[line.index(after: dash)..<open.lowerBound], radix: 16), last >= start else { return nil }
        let inside = line[open.upperBound..<close.lowerBound].split(separator: ",", maxSplits: 1)
        guard inside.count == 2, let priority = Int(inside[0]) else { return nil }
        let kind = inside[1].trimmingCharacters(in: .whitespaces)
        var name = line[close.upperBound...]
        var offset: UInt64 = 0
        if let at = name.range(of: " @", options: .backwards),
           let value = UInt64(name[at.upperBound...], radix: 16) {
            offset = value
            name = name[..<at.lowerBound]
        }
        let (size, overflow) = (last - start).addingReportingOverflow(1)
        guard !overflow else { return nil }  // the whole 64-bit space: never RAM
        return FlatMemoryRange(start: start, size: size, priority: priority, kind: String(kind),
                               name: String(name), offsetInRegion: offset)
    }

    /// The host address in `Host virtual address for 0x40000000 (ram) is 0x7f12…`.
    public static func hostVirtualAddress(_ text: String) throws(MemoryTreeError) -> UInt64 {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let marker = trimmed.range(of: " is 0x", options: .backwards) else { throw .malformedTranslation(String(trimmed)) }
        let digits = trimmed[marker.upperBound...].prefix { $0.isHexDigit }
        guard let value = UInt64(digits, radix: 16) else { throw .malformedTranslation(String(trimmed)) }
        return value
    }
}
