/// A span of target memory to read.
public struct MemoryRange: Hashable, Sendable, CustomStringConvertible {
    public var address: UInt64
    public var count: Int

    /// `count` bytes from `address`.
    public init(address: UInt64, count: Int) {
        self.address = address
        self.count = count
    }

    /// One past the last byte, or nil if the range wraps past 2^64.
    public var end: UInt64? {
        let (sum, overflow) = address.addingReportingOverflow(UInt64(count))
        return overflow && sum != 0 ? nil : sum
    }

    /// True if the ranges share at least one byte.
    public func overlaps(_ other: ClosedRange<UInt64>) -> Bool {
        guard count > 0 else { return false }
        let last = address &+ UInt64(count - 1)
        return address <= other.upperBound && other.lowerBound <= last
    }

    public var description: String { "0x\(String(address, radix: 16))+\(count)" }
}
