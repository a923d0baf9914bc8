import KernelSupport

// A minimal ELF64 reader for the kernel's program loader: the file header
// and the program headers, nothing else (sections and symbols are the
// debugger's business). Pure: it reads bytes and never maps anything, so
// the host tests feed it real and corrupted images.

/// Why an ELF image was refused. One line each.
public enum ELFError: Error, Equatable {
    case truncated(needed: Int, available: Int)
    case badMagic
    case notELF64LittleEndian
    case notAArch64Executable(machine: UInt16, type: UInt16)
    case programHeadersOutOfBounds
    case segmentOutOfBounds(index: Int)
    case segmentFileSizeExceedsMemorySize(index: Int)
    case segmentOutsideUserRegions(index: Int, vaddr: UInt64)
    case writableAndExecutable(index: Int)
    case noLoadableSegment

    public var description: StaticString {
        switch self {
        case .truncated: return "ELF image truncated"
        case .badMagic: return "not an ELF image (bad magic)"
        case .notELF64LittleEndian: return "not a little-endian ELF64 image"
        case .notAArch64Executable: return "not an AArch64 executable"
        case .programHeadersOutOfBounds: return "program headers lie outside the image"
        case .segmentOutOfBounds: return "a PT_LOAD's file bytes lie outside the image"
        case .segmentFileSizeExceedsMemorySize: return "a PT_LOAD has p_filesz > p_memsz"
        case .segmentOutsideUserRegions: return "a PT_LOAD lies outside the text/data regions"
        case .writableAndExecutable: return "a PT_LOAD is both writable and executable"
        case .noLoadableSegment: return "no PT_LOAD segment"
        }
    }
}

/// One PT_LOAD program header.
public struct ELFLoadSegment: Equatable {
    public static let flagExecute: UInt32 = 1  // PF_X
    public static let flagWrite: UInt32 = 2    // PF_W
    public static let flagRead: UInt32 = 4     // PF_R

    public var virtualAddress: UInt64
    public var memorySize: UInt64
    public var fileOffset: UInt64
    public var fileSize: UInt64
    public var flags: UInt32

    public init(virtualAddress: UInt64, memorySize: UInt64, fileOffset: UInt64, fileSize: UInt64, flags: UInt32) {
        self.virtualAddress = virtualAddress
        self.memorySize = memorySize
        self.fileOffset = fileOffset
        self.fileSize = fileSize
        self.flags = flags
    }

    public var isExecutable: Bool { flags & ELFLoadSegment.flagExecute != 0 }
    public var isWritable: Bool { flags & ELFLoadSegment.flagWrite != 0 }
    /// First byte past the segment in memory.
    public var end: UInt64 { virtualAddress &+ memorySize }
}

/// A validated view of an ELF64 AArch64 executable in memory.
public struct ELF64Image {
    static let headerSize = 64
    static let programHeaderSize = 56
    static let typeExecutable: UInt16 = 2   // ET_EXEC
    static let machineAArch64: UInt16 = 183 // EM_AARCH64
    static let programTypeLoad: UInt32 = 1  // PT_LOAD

    public let bytes: UnsafeRawBufferPointer
    /// e_entry: the first EL0 instruction.
    public let entry: UInt64
    public let programHeaderCount: Int
    private let programHeaderOffset: Int

    /// Checks the header and that every program header and every PT_LOAD's
    /// file bytes lie inside `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer) throws(ELFError) {
        guard bytes.count >= ELF64Image.headerSize else {
            throw .truncated(needed: ELF64Image.headerSize, available: bytes.count)
        }
        guard bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46 else { throw .badMagic }
        guard bytes[4] == 2, bytes[5] == 1 else { throw .notELF64LittleEndian }  // ELFCLASS64, ELFDATA2LSB
        let type = bytes.loadUnaligned(fromByteOffset: 16, as: UInt16.self)
        let machine = bytes.loadUnaligned(fromByteOffset: 18, as: UInt16.self)
        guard type == ELF64Image.typeExecutable, machine == ELF64Image.machineAArch64 else {
            throw .notAArch64Executable(machine: machine, type: type)
        }
        let phoff = bytes.loadUnaligned(fromByteOffset: 32, as: UInt64.self)
        let phentsize = bytes.loadUnaligned(fromByteOffset: 54, as: UInt16.self)
        let phnum = bytes.loadUnaligned(fromByteOffset: 56, as: UInt16.self)
        guard Int(phentsize) == ELF64Image.programHeaderSize,
              phoff <= UInt64(bytes.count),
              UInt64(bytes.count) - phoff >= UInt64(phnum) * UInt64(ELF64Image.programHeaderSize) else {
            throw .programHeadersOutOfBounds
        }
        self.bytes = bytes
        self.entry = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        self.programHeaderCount = Int(phnum)
        self.programHeaderOffset = Int(phoff)

        var loadable = 0
        for index in 0..<programHeaderCount {
            guard let segment = loadSegment(at: index) else { continue }
            loadable += 1
            let (fileEnd, overflow) = segment.fileOffset.addingReportingOverflow(segment.fileSize)
            guard !overflow, fileEnd <= UInt64(bytes.count) else { throw .segmentOutOfBounds(index: index) }
            guard segment.fileSize <= segment.memorySize else { throw .segmentFileSizeExceedsMemorySize(index: index) }
        }
        guard loadable > 0 else { throw .noLoadableSegment }
    }

    /// Program header `index` if it is a PT_LOAD, else nil.
    public func loadSegment(at index: Int) -> ELFLoadSegment? {
        let base = programHeaderOffset + index * ELF64Image.programHeaderSize
        guard bytes.loadUnaligned(fromByteOffset: base, as: UInt32.self) == ELF64Image.programTypeLoad else { return nil }
        return ELFLoadSegment(
            virtualAddress: bytes.loadUnaligned(fromByteOffset: base + 16, as: UInt64.self),
            memorySize: bytes.loadUnaligned(fromByteOffset: base + 40, as: UInt64.self),
            fileOffset: bytes.loadUnaligned(fromByteOffset: base + 8, as: UInt64.self),
            fileSize: bytes.loadUnaligned(fromByteOffset: base + 32, as: UInt64.self),
            flags: bytes.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self))
    }

    /// The file bytes of `segment` (fileSize of them; the rest up to
    /// memorySize is zero fill).
    public func fileBytes(of segment: ELFLoadSegment) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[Int(segment.fileOffset)..<Int(segment.fileOffset + segment.fileSize)])
    }
}
