import KernelSupport

/// Appends to the kernel log ring (`mm_log`), which a debugger reads
/// without the serial port. `head` counts every byte ever written.
public enum LogRing {
    public static func append(_ byte: UInt8) {
        let size = UInt64(MM_LOG_RING_SIZE)
        withUnsafeMutablePointer(to: &mm_log) { ring in
            let buf = UnsafeMutableRawPointer(ring) + Int(mm_abi_offsetof_log_buf())
            buf.storeBytes(of: byte, toByteOffset: Int(ring.pointee.head % size), as: UInt8.self)
            ring.pointee.head &+= 1
        }
    }
}
