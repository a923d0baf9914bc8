import Inspect

/// A test's view of an ELF image: its loadable segments' bytes and its
/// symbols by name. Read by Inspect's ELF reader (the one host-side reader).
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

    public let elf: ELFFile
    public var entry: UInt64 { elf.entry }
    /// The PT_LOAD segments, in file order.
    public let segments: [Segment]

    public init(path: String) throws {
        do { try self.init(elf: ELFFile(path: path)) } catch { throw Failure(description: "\(path): \(error.description)") }
    }

    public init(elf: ELFFile) {
        self.elf = elf
        segments = elf.programHeaders.filter { $0.type == 1 }.map {  // PT_LOAD
            Segment(fileOffset: Int($0.fileOffset), virtualAddress: $0.virtualAddress,
                    physicalAddress: $0.physicalAddress, fileSize: Int($0.fileSize))
        }
    }

    /// The file bytes of a segment.
    public func contents(of segment: Segment) -> [UInt8] {
        Array(elf.bytes[segment.fileOffset..<segment.fileOffset + segment.fileSize])
    }

    /// A symbol's address; fails with its name.
    public func address(of symbol: String) throws -> UInt64 {
        guard let value = elf.symbol(named: symbol)?.address else { throw Failure(description: "symbol \(symbol) not found") }
        return value
    }
}
