/// Bounds-checked little-endian field reads from an ELF image.
struct ELFByteReader {
    let bytes: [UInt8]

    func u8(_ offset: UInt64) throws(ELFError) -> UInt8 {
        try check(offset, 1, "byte")
        return bytes[Int(offset)]
    }

    func u16(_ offset: UInt64) throws(ELFError) -> UInt16 {
        try check(offset, 2, "16-bit field")
        let i = Int(offset)
        return UInt16(bytes[i]) | UInt16(bytes[i + 1]) << 8
    }

    func u32(_ offset: UInt64) throws(ELFError) -> UInt32 {
        try check(offset, 4, "32-bit field")
        let i = Int(offset)
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: i, as: UInt32.self)) }
    }

    func u64(_ offset: UInt64) throws(ELFError) -> UInt64 {
        try check(offset, 8, "64-bit field")
        return bytes.littleEndianUInt64(at: Int(offset))
    }

    func slice(_ offset: UInt64, _ length: UInt64, _ what: String) throws(ELFError) -> ArraySlice<UInt8> {
        try check(offset, length, what)
        return bytes[Int(offset)..<Int(offset + length)]
    }

    /// The NUL-terminated string at `offset` (to the end of the image if unterminated).
    func cString(_ offset: UInt64) throws(ELFError) -> String {
        try check(offset, 0, "string")
        var end = Int(offset)
        while end < bytes.count && bytes[end] != 0 { end += 1 }
        return String(decoding: bytes[Int(offset)..<end], as: UTF8.self)
    }

    private func check(_ offset: UInt64, _ length: UInt64, _ what: String) throws(ELFError) {
        let (end, overflow) = offset.addingReportingOverflow(length)
        if overflow || end > UInt64(bytes.count) { throw .truncated(what: what, offset: offset) }
    }
}
