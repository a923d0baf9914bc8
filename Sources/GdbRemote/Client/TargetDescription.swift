/// One register as the target description declares it.
public struct RegisterInfo: Hashable, Sendable {
    public var name: String
    /// The number used in `p`/`P` packets.
    public var number: Int
    public var bitSize: Int
    /// The `<feature name=...>` it came from, e.g. "org.gnu.gdb.aarch64.core".
    public var feature: String
    public var type: String?
    public var group: String?

    /// Bytes on the wire.
    public var byteSize: Int { (bitSize + 7) / 8 }
}

/// The register map, by name and by number, built from target.xml and its includes.
public struct RegisterMap: Sendable {
    /// All registers in number order.
    public private(set) var registers: [RegisterInfo]
    private var byName: [String: Int] = [:]
    private var byUppercasedName: [String: Int] = [:]

    /// A map over `registers` (any order).
    public init(registers: [RegisterInfo]) {
        self.registers = registers.sorted { $0.number < $1.number }
        for (i, r) in self.registers.enumerated() {
            byName[r.name] = i
            byUppercasedName[r.name.uppercased()] = i
        }
    }

    /// Looks a register up by name: exact, then case-insensitive, then with or
    /// without an `_EL1` suffix (QEMU names SCTLR, VBAR, CPACR without it).
    public func register(named name: String) -> RegisterInfo? {
        if let i = byName[name] { return registers[i] }
        let upper = name.uppercased()
        if let i = byUppercasedName[upper] { return registers[i] }
        if upper.hasSuffix("_EL1"), let i = byUppercasedName[String(upper.dropLast(4))] { return registers[i] }
        if let i = byUppercasedName[upper + "_EL1"] { return registers[i] }
        return nil
    }

    /// The register with this number.
    public func register(number: Int) -> RegisterInfo? { registers.first { $0.number == number } }

    /// The registers a `g` packet carries: consecutive numbers from 0 while their bytes fit in `byteCount`.
    public func generalRegisterLayout(byteCount: Int) -> [(RegisterInfo, Range<Int>)] {
        var layout: [(RegisterInfo, Range<Int>)] = []
        var offset = 0
        for (expected, r) in registers.enumerated() where r.number == expected {
            guard offset + r.byteSize <= byteCount else { break }
            layout.append((r, offset..<offset + r.byteSize))
            offset += r.byteSize
        }
        return layout
    }
}

/// Parses target-description XML: `<feature>`, `<reg>` and `<xi:include>`.
/// Deliberately tiny (a tag scanner, no DTD or namespaces): the descriptions
/// stubs send are flat and machine-written.
public enum TargetDescriptionParser {
    /// An element of a description in document order.
    public enum Item: Equatable, Sendable {
        case feature(name: String)
        case register(attributes: [String: String])
        case include(href: String)
    }

    /// The items of one XML document, in order.
    public static func items(in xml: String) -> [Item] {
        var items: [Item] = []
        var rest = Substring(xml)
        while let open = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: open)...]
            guard let close = rest.firstIndex(of: ">") else { break }
            let tag = rest[..<close]
            rest = rest[rest.index(after: close)...]
            let name = tag.prefix { !$0.isWhitespace && $0 != "/" && $0 != ">" }
            switch name {
            case "feature": items.append(.feature(name: attributes(of: tag)["name"] ?? ""))
            case "reg": items.append(.register(attributes: attributes(of: tag)))
            case "xi:include": if let href = attributes(of: tag)["href"] { items.append(.include(href: href)) }
            default: break
            }
        }
        return items
    }

    /// `key="value"` (or single-quoted) pairs of one tag.
    static func attributes(of tag: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var rest = tag.drop { !$0.isWhitespace }
        while let eq = rest.firstIndex(of: "=") {
            let key = rest[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: " \t\r\n/"))
            var after = rest[rest.index(after: eq)...].drop { $0.isWhitespace }
            guard let quote = after.first, quote == "\"" || quote == "'" else { break }
            after = after.dropFirst()
            guard let end = after.firstIndex(of: quote) else { break }
            result[key] = String(after[..<end])
            rest = after[after.index(after: end)...]
        }
        return result
    }

    /// Builds the register map from a root document, fetching includes with `fetch`.
    public static func registerMap<E: Error>(root: String, fetch: (String) throws(E) -> String) throws(E) -> RegisterMap {
        var registers: [RegisterInfo] = []
        var nextNumber = 0
        var visited: Set<String> = []
        func walk(_ annex: String, _ xml: String, depth: Int) throws(E) {
            var feature = ""
            for item in items(in: xml) {
                switch item {
                case .feature(let name): feature = name
                case .include(let href):
                    guard depth < 8, visited.insert(href).inserted else { continue }
                    try walk(href, try fetch(href), depth: depth + 1)
                case .register(let a):
                    guard let name = a["name"] else { continue }
                    let number = a["regnum"].flatMap { Int($0) } ?? nextNumber
                    let bits = a["bitsize"].flatMap { Int($0) } ?? 64
                    registers.append(RegisterInfo(name: name, number: number, bitSize: bits, feature: feature, type: a["type"], group: a["group"]))
                    nextNumber = number + 1
                }
            }
        }
        visited.insert(root)
        try walk(root, try fetch(root), depth: 0)
        return RegisterMap(registers: registers)
    }
}

import Foundation
