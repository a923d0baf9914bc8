/// Byte-string helpers for data the kernel reads in place (device tree
/// names and strings, the command line): no String, no allocation.
enum ByteString {
    /// True if `bytes` equals `text` exactly.
    static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount && hasPrefix(bytes, text)
    }

    /// True if `bytes` starts with `text`.
    static func hasPrefix(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        if bytes.count < count { return false }
        let prefix = text.utf8Start
        for i in 0..<count where bytes[i] != prefix[i] { return false }
        return true
    }

    /// `bytes` up to (not including) the first NUL.
    static func untilNul(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var length = 0
        while length < bytes.count && bytes[length] != 0 { length += 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[0..<length])
    }
}
