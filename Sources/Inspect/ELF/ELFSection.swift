/// One section header.
public struct ELFSection: Codable, Sendable, Hashable {
    public var name: String
    /// `sh_type` (1 PROGBITS, 2 SYMTAB, 3 STRTAB, 7 NOTE, 8 NOBITS, ...).
    public var type: UInt32
    public var flags: UInt64
    /// Virtual address when loaded (0 if not allocated).
    public var address: UInt64
    public var fileOffset: UInt64
    public var size: UInt64
    public var link: UInt32
    public var entrySize: UInt64

    public static let typeSymbolTable: UInt32 = 2
    public static let typeNote: UInt32 = 7
    public static let typeNoBits: UInt32 = 8
    /// `SHF_ALLOC`: occupies memory at run time.
    public static let flagAllocated: UInt64 = 0x2

    /// Whether the section's bytes are in the file (not `.bss`).
    public var hasFileContents: Bool { type != ELFSection.typeNoBits && type != 0 }

    /// Whether `address` falls in this section's run-time range.
    public func contains(address probe: UInt64) -> Bool {
        flags & ELFSection.flagAllocated != 0 && probe >= address && probe - address < size
    }
}

/// One program header (segment).
public struct ELFProgramHeader: Codable, Sendable, Hashable {
    /// `p_type` (1 LOAD, 4 NOTE, ...).
    public var type: UInt32
    /// `p_flags`: 1 X, 2 W, 4 R.
    public var flags: UInt32
    public var fileOffset: UInt64
    public var virtualAddress: UInt64
    public var physicalAddress: UInt64
    public var fileSize: UInt64
    public var memorySize: UInt64
    public var alignment: UInt64

    public static let typeLoad: UInt32 = 1
    public static let typeNote: UInt32 = 4

    /// `R-X`-style permissions.
    public var permissions: String {
        (flags & 4 != 0 ? "R" : "-") + (flags & 2 != 0 ? "W" : "-") + (flags & 1 != 0 ? "X" : "-")
    }
}
