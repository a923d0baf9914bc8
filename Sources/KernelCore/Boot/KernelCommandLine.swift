/// The kernel command line (QEMU `-append`, from /chosen/bootargs): words
/// separated by spaces, each a bare `flag` or a `key=value`. Read in place.
public struct KernelCommandLine {
    /// The command line's bytes, without a trailing NUL.
    public let bytes: UnsafeRawBufferPointer

    /// A command line over `bytes` (cut at the first NUL, if any).
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = ByteString.untilNul(bytes)
    }

    /// The empty command line.
    public static var empty: KernelCommandLine { KernelCommandLine(UnsafeRawBufferPointer(start: nil, count: 0)) }

    /// The value of the last `key=value` word for `key`, or nil.
    public func value(of key: StaticString) -> UnsafeRawBufferPointer? {
        var found: UnsafeRawBufferPointer? = nil
        forEachWord { word in
            let keyLength = key.utf8CodeUnitCount
            if word.count > keyLength && word[keyLength] == UInt8(ascii: "=") && ByteString.hasPrefix(word, key) {
                found = UnsafeRawBufferPointer(rebasing: word[(keyLength + 1)...])
            }
        }
        return found
    }

    /// True if `key=value` is on the command line (the last one wins).
    public func has(_ key: StaticString, equalTo value: StaticString) -> Bool {
        guard let actual = self.value(of: key) else { return false }
        return ByteString.equals(actual, value)
    }

    /// True if the bare word `flag` is on the command line.
    public func contains(_ flag: StaticString) -> Bool {
        var found = false
        forEachWord { if ByteString.equals($0, flag) { found = true } }
        return found
    }

    /// Calls `body` with each space-separated word, in order.
    public func forEachWord(_ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start < bytes.count {
            while start < bytes.count && isSeparator(bytes[start]) { start += 1 }
            var end = start
            while end < bytes.count && !isSeparator(bytes[end]) { end += 1 }
            if end > start { body(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) }
            start = end
        }
    }

    private func isSeparator(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
    }
}

/// The command line the kernel booted with (set once during boot from the
/// device tree; read by later boot stages, e.g. `tests=` for init).
public nonisolated(unsafe) var bootCommandLine = KernelCommandLine.empty
