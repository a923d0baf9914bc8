import Foundation

/// Just enough of an ELF64 little-endian reader for tests: loadable segments
/// (to compare guest memory with the file) and the symbol table.
public struct ElfImage {
    public struct Segment {
        public let fileOffset: Int
        public let virtualAddress: UInt64
        public let physicalAddress: UInt64
        public let fileSize: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let bytes: [UInt8]
    public let entry: UInt64
    public let segments: [Segment]
    public let symbols: [String: UInt64]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure(description: "cannot read \(path)") }
        try self.init(bytes: Array(data), name: path)
    }

    public init(bytes: [UInt8], name: String = "ELF") throws {
        self.bytes = bytes
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
        guard bytes.count >= 64, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46], bytes[4] == 2, bytes[5] == 1 else {
            throw Failure(description: "\(name) is not a little-endian ELF64 file")
        }
        entry = u64(0x18)
        let phoff = Int(u64(0x20)), shoff = Int(u64(0x28))
        let phentsize = u16(0x36), phnum = u16(0x38), shentsize = u16(0x3A), shnum = u16(0x3C)
        var segments: [Segment] = []
        for i in 0..<phnum {
            let o = phoff + i * phentsize
            guard o + 0x38 <= bytes.count, u32(o) == 1 else { continue }  // PT_LOAD
            segments.append(Segment(fileOffset: Int(u64(o + 8)), virtualAddress: u64(o + 0x10),
                                    physicalAddress: u64(o + 0x18), fileSize: Int(u64(o + 0x20))))
        }
        self.segments = segments
        var symbols: [String: UInt64] = [:]
        for i in 0..<shnum {
            let o = shoff + i * shentsize
            guard o + 0x40 <= bytes.count, u32(o + 4) == 2 else { continue }  // SHT_SYMTAB
            let symOffset = Int(u64(o + 0x18)), symSize = Int(u64(o + 0x20)), link = Int(u32(o + 0x28))
            let strOffset = Int(u64(shoff + link * shentsize + 0x18))
            for s in stride(from: symOffset, to: symOffset + symSize, by: 24) {
                let nameStart = strOffset + Int(u32(s))
                guard nameStart < bytes.count else { continue }
                let nameEnd = bytes[nameStart...].firstIndex(of: 0) ?? bytes.count
                let name = String(decoding: bytes[nameStart..<nameEnd], as: UTF8.self)
                if !name.isEmpty { symbols[name] = u64(s + 8) }
            }
        }
        self.symbols = symbols
    }

    /// The file bytes of a segment.
    public func contents(of segment: Segment) -> [UInt8] {
        Array(bytes[segment.fileOffset..<segment.fileOffset + segment.fileSize])
    }

    /// A symbol's address; fails with its name.
    public func address(of symbol: String) throws -> UInt64 {
        guard let value = symbols[symbol] else { throw Failure(description: "symbol \(symbol) not found") }
        return value
    }
}
