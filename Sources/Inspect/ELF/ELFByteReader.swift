#if canImport(Glibc)
import Glibc
#endif
/// Bounds-checked little-endian field reads from an ELF image.
///
/// Every position is `base + delta`, summed with overflow checking: offsets
/// come from the file itself, and a hostile file must get `.truncated`, never a trap.
struct ELFByteReader {
    let bytes: [UInt8]

    /// `base + delta`, or `.truncated` when the sum overflows 64 bits.
    func offset(_ base: UInt64, plus delta: UInt64, _ what: String) throws(ELFError) -> UInt64 {
        let (sum, overflow) = base.addingReportingOverflow(delta)
        if overflow { throw .truncated(what: what, offset: base) }
        return sum
    }

    func u8(_ base: UInt64, plus delta: UInt64 = 0) throws(ELFError) -> UInt8 {
        let at = try checked(base, delta, 1, "byte")
        return bytes[at]
    }

    func u16(_ base: UInt64, plus delta: UInt64 = 0) throws(ELFError) -> UInt16 {
        let at = try checked(base, delta, 2, "16-bit field")
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ base: UInt64, plus delta: UInt64 = 0) throws(ELFError) -> UInt32 {
        let at = try checked(base, delta, 4, "32-bit field")
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }

    func u64(_ base: UInt64, plus delta: UInt64 = 0) throws(ELFError) -> UInt64 {
        let at = try checked(base, delta, 8, "64-bit field")
        return bytes.littleEndianUInt64(at: at)
    }

    func slice(_ base: UInt64, _ length: UInt64, _ what: String) throws(ELFError) -> ArraySlice<UInt8> {
        let at = try checked(base, 0, length, what)
        return bytes[at..<at + Int(length)]
    }

    /// The NUL-terminated string at `base + delta` (to the end of the image if unterminated).
    func cString(_ base: UInt64, plus delta: UInt64 = 0) throws(ELFError) -> String {
        let start = try checked(base, delta, 0, "string")
        // One scan over raw bytes (memchr): symbol and section names are read by the thousand.
        return bytes.withUnsafeBufferPointer { buffer in
            let rest = UnsafeBufferPointer(rebasing: buffer[start...])
            guard let base = rest.baseAddress, !rest.isEmpty else { return "" }
            let length = memchr(base, 0, rest.count).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? rest.count
            return String(decoding: UnsafeBufferPointer(start: base, count: length), as: UTF8.self)
        }
    }

    /// `base + delta` as an index, after checking that `length` bytes from there lie in the image.
    private func checked(_ base: UInt64, _ delta: UInt64, _ length: UInt64, _ what: String) throws(ELFError) -> Int {
        let start = try offset(base, plus: delta, what)
        let (end, overflow) = start.addingReportingOverflow(length)
        if overflow || end > UInt64(bytes.count) { throw .truncated(what: what, offset: start) }
        return Int(start)
    }
}
