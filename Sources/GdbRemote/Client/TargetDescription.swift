import Foundation

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

    /// Bytes on the wire (written so that no bit size can overflow it; the parser keeps
    /// sizes within `TargetDescriptionParser.bitSizes` anyway).
    public var byteSize: Int { bitSize <= 0 ? 0 : bitSize / 8 + (bitSize % 8 == 0 ? 0 : 1) }
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

    /// Register numbers a description may use (`p`/`P` take hex numbers; real targets stay far below).
    public static let registerNumbers: Range<Int> = 0..<65536
    /// Register sizes a description may declare, in bits (the widest real registers are SVE's 2048).
    public static let bitSizes: ClosedRange<Int> = 1...2048
    /// Documents fetched per description at most (root included): includes are for splitting
    /// a description into features, not for a stub to keep the client fetching forever.
    public static let maximumDocuments = 64

    /// Builds the register map from a root document, fetching includes with `fetch`.
    /// A register whose number or size is out of range (or a description with more
    /// registers than numbers) is a `.malformedReply` error of operation "read target description".
    public static func registerMap(root: String, fetch: (String) throws(GdbError) -> String) throws(GdbError) -> RegisterMap {
        var registers: [RegisterInfo] = []
        var nextNumber = 0
        var visited: Set<String> = []
        func malformed(_ why: String, _ annex: String) -> GdbError {
            GdbError(.malformedReply(why), operation: "read target description", packet: "qXfer:features:read:\(annex)")
        }
        func walk(_ annex: String, _ xml: String, depth: Int) throws(GdbError) {
            var feature = ""
            for item in items(in: xml) {
                switch item {
                case .feature(let name): feature = name
                case .include(let href):
                    guard depth < 8, !visited.contains(href) else { continue }
                    guard visited.count < maximumDocuments else {
                        throw malformed("more than \(maximumDocuments) included documents", href)
                    }
                    visited.insert(href)
                    try walk(href, try fetch(href), depth: depth + 1)
                case .register(let a):
                    guard let name = a["name"] else { continue }
                    let number: Int
                    if let text = a["regnum"] {
                        guard let n = Int(text), registerNumbers.contains(n) else {
                            throw malformed("register \(GdbError.clip(name)) has regnum \(GdbError.clip(text)), expected \(registerNumbers)", annex)
                        }
                        number = n
                    } else {
                        guard registerNumbers.contains(nextNumber) else {
                            throw malformed("register \(GdbError.clip(name)) numbered past \(registerNumbers.upperBound - 1)", annex)
                        }
                        number = nextNumber
                    }
                    var bits = 64
                    if let text = a["bitsize"] {
                        guard let n = Int(text), bitSizes.contains(n) else {
                            throw malformed("register \(GdbError.clip(name)) has bitsize \(GdbError.clip(text)), expected \(bitSizes)", annex)
                        }
                        bits = n
                    }
                    guard registers.count < registerNumbers.count else {
                        throw malformed("more than \(registerNumbers.count) registers", annex)
                    }
                    registers.append(RegisterInfo(name: name, number: number, bitSize: bits, feature: feature, type: a["type"], group: a["group"]))
                    nextNumber = number + 1  // number < 65536: cannot overflow
                }
            }
        }
        visited.insert(root)
        try walk(root, try fetch(root), depth: 0)
        return RegisterMap(registers: registers)
    }
}
