import KernelSupport

/// Kernel console: every byte goes to the PL011 UART and to the log ring.
public enum Console {
    public static func put(_ byte: UInt8) {
        mm_uart_putc(byte)
        LogRing.append(byte)
    }

    public static func write(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { put(b) } }
    }

    /// Writes a NUL-terminated C string (e.g. a kernel_abi.h marker via
    /// its mm_text_* accessor).
    public static func write(cString text: UnsafePointer<CChar>) {
        var p = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
        while p.pointee != 0 {
            put(p.pointee)
            p += 1
        }
    }

    /// Writes `value` as lowercase hex without leading zeros (at least one digit).
    public static func writeHex(_ value: UInt64) {
        var shift = 60
        var started = false
        while shift >= 0 {
            let nibble = UInt8((value >> UInt64(shift)) & 0xF)
            if nibble != 0 || started || shift == 0 {
                started = true
                put(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
            }
            shift -= 4
        }
    }

    public static func writeDecimal(_ value: UInt64) {
        if value >= 10 { writeDecimal(value / 10) }
        put(0x30 + UInt8(value % 10))
    }
}
