import UserRuntime

/// One line of output, assembled in `user_line_buffer` and written with a
/// single `write` so that lines of preempted tasks never interleave.
/// Overlong lines are truncated, never overrun.
struct Line {
    private var count = 0
    private let capacity = Int(USER_LINE_CAPACITY) - 1  // room for "\n"

    init() {}

    init(_ text: StaticString) { add(text) }

    private mutating func put(_ byte: UInt8) {
        guard count < capacity else { return }
        user_line_base().advanced(by: count).pointee = CChar(bitPattern: byte)
        count += 1
    }

    mutating func add(_ text: StaticString) {
        text.withUTF8Buffer { for byte in $0 { put(byte) } }
    }

    mutating func add(bytes: UnsafeRawBufferPointer) {
        for byte in bytes { put(byte) }
    }

    mutating func add(decimal value: Int64) {
        if value < 0 { put(0x2D) }  // "-"
        add(unsignedDecimal: value.magnitude)
    }

    mutating func add(unsignedDecimal value: UInt64) {
        if value >= 10 { add(unsignedDecimal: value / 10) }
        put(0x30 + UInt8(value % 10))
    }

    mutating func add(hex value: UInt64) {
        add("0x")
        var shift: UInt64 = 60
        var started = false
        while true {
            let nibble = UInt8((value >> shift) & 0xF)
            if nibble != 0 || started || shift == 0 {
                started = true
                put(nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
            }
            if shift == 0 { break }
            shift -= 4
        }
    }

    /// Writes the line and a newline to the console (fd 1).
    func emit() {
        user_line_base().advanced(by: count).pointee = 0x0A
        _ = mm_sys_write(1, user_line_base(), UInt64(count + 1))
    }
}
