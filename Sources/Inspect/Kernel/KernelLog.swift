import GdbRemote
import KernelABI

/// The kernel log ring (`mm_log`), like Linux's `lx-dmesg`.
public struct KernelLog: Codable, Sendable, Hashable {
    /// Bytes ever written.
    public var head: UInt64
    public var size: UInt64
    /// The live window: the last min(head, size) bytes, oldest first.
    public var text: String

    /// Complete lines of the live window (a line cut by wrap-around is dropped).
    public var lines: [String] {
        var all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if head > size, !all.isEmpty { all.removeFirst() }
        if all.last == "" { all.removeLast() }
        return all
    }

    /// Where `buf` starts inside `mm_log_ring` (Swift cannot import the array).
    static var bufferOffset: Int { Int(mm_abi_offsetof_log_buf()) }
    /// Bytes of the whole ring structure.
    static var structureSize: Int { bufferOffset + Int(MM_LOG_RING_SIZE) }

    /// Decodes the ring from the raw bytes of `mm_log`.
    init(structureBytes bytes: [UInt8]) throws(KernelInspectionError) {
        guard bytes.count >= KernelLog.structureSize else { throw .corrupt("mm_log read is too short") }
        let magic = bytes.littleEndianUInt64(at: MemoryLayout<mm_log_ring>.offset(of: \.magic)!)
        guard magic == MM_LOG_MAGIC else {
            throw .corrupt("mm_log magic is \(Hex.format(magic)), expected \(Hex.format(MM_LOG_MAGIC)): not initialised or overwritten")
        }
        size = bytes.littleEndianUInt64(at: MemoryLayout<mm_log_ring>.offset(of: \.size)!)
        head = bytes.littleEndianUInt64(at: MemoryLayout<mm_log_ring>.offset(of: \.head)!)
        guard size == UInt64(MM_LOG_RING_SIZE) else { throw .corrupt("mm_log size is \(size), expected \(MM_LOG_RING_SIZE)") }
        let buffer = bytes[KernelLog.bufferOffset..<KernelLog.bufferOffset + Int(size)]
        let live = Int(min(head, size))
        let end = Int(head % size)
        var window: [UInt8] = []
        window.reserveCapacity(live)
        if live == Int(size) {
            window += buffer[(buffer.startIndex + end)...]
            window += buffer[buffer.startIndex..<(buffer.startIndex + end)]
        } else {
            window += buffer[buffer.startIndex..<(buffer.startIndex + live)]
        }
        text = String(decoding: window, as: UTF8.self)
    }
}
