import Inspect

/// Guest memory made up by a test: sparse physical pages (unwritten memory
/// reads as zeros, like QEMU's physical mode), an optional VA→PA mapping for
/// virtual reads, and a log of every batch so tests can count round trips.
public final class SyntheticMemory: WritableMemorySource {
    private static let chunkShift: UInt64 = 12
    private static let chunkSize = 1 << 12
    private var chunks: [UInt64: [UInt8]] = [:]

    /// Translates virtual reads; nil makes every virtual read fail.
    public var virtualToPhysical: ((UInt64) -> UInt64?)?
    /// Every batch `read` was called with, in order (one batch = one round trip).
    public private(set) var batches: [[MemoryRequest]] = []
    /// Physical ranges that fail to read, to test error paths.
    public var unreadable: [ClosedRange<UInt64>] = []
    /// When set, every read fails as a broken connection would.
    public var transportFailure: String?

    public init() {}

    /// Round trips so far.
    public var roundTrips: Int { batches.count }
    /// Ranges requested so far, over all batches.
    public var requestCount: Int { batches.reduce(0) { $0 + $1.count } }

    /// Forgets the batch log.
    public func resetCounters() { batches.removeAll() }

    public func read(_ ranges: [MemoryRequest]) throws(MemoryError) -> [[UInt8]] {
        batches.append(ranges)
        if let transportFailure { throw .transport(transportFailure) }
        var result: [[UInt8]] = []
        result.reserveCapacity(ranges.count)
        for range in ranges {
            var address = range.address
            if range.space == .virtual {
                guard let translate = virtualToPhysical, let pa = translate(range.address) else {
                    throw .unreadable(range, reason: "E14 (unmapped virtual address)")
                }
                address = pa
            }
            // Like a real stub: a range running past the top of the address space is an error, not a wrap.
            let (last, overflow) = address.addingReportingOverflow(UInt64(max(range.length, 1)) - 1)
            if overflow { throw .unreadable(range, reason: "E14 (past the top of the address space)") }
            if unreadable.contains(where: { $0.overlaps(address...last) }) {
                throw .unreadable(range, reason: "E14 (synthetic failure)")
            }
            result.append(bytes(at: address, count: range.length))
        }
        return result
    }

    public func write(_ bytes: [UInt8], to address: UInt64, in space: AddressSpace) throws(MemoryError) {
        var pa = address
        if space == .virtual {
            guard let translate = virtualToPhysical, let mapped = translate(address) else {
                throw .unreadable(MemoryRequest(space, address: address, length: bytes.count), reason: "unmapped")
            }
            pa = mapped
        }
        store(bytes, at: pa)
    }

    /// Physical bytes (zeros where nothing was written).
    public func bytes(at address: UInt64, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let at = address + UInt64(done)
            let offset = Int(at & UInt64(Self.chunkSize - 1))
            let n = min(Self.chunkSize - offset, count - done)
            if let chunk = chunks[at >> Self.chunkShift] {
                out.replaceSubrange(done..<done + n, with: chunk[offset..<offset + n])
            }
            done += n
        }
        return out
    }

    /// Writes physical bytes.
    public func store(_ bytes: [UInt8], at address: UInt64) {
        var done = 0
        while done < bytes.count {
            let at = address + UInt64(done)
            let offset = Int(at & UInt64(Self.chunkSize - 1))
            let n = min(Self.chunkSize - offset, bytes.count - done)
            chunks[at >> Self.chunkShift, default: [UInt8](repeating: 0, count: Self.chunkSize)]
                .replaceSubrange(offset..<offset + n, with: bytes[done..<done + n])
            done += n
        }
    }

    /// Writes a little-endian 64-bit word.
    public func store64(_ value: UInt64, at address: UInt64) {
        store((0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }, at: address)
    }

    /// Every 4 KiB chunk written so far, by address (to copy synthetic tables into a real guest).
    public var storedChunks: [(address: UInt64, bytes: [UInt8])] {
        chunks.keys.sorted().map { ($0 << Self.chunkShift, chunks[$0]!) }
    }

    /// Reads a little-endian 64-bit word.
    public func load64(at address: UInt64) -> UInt64 {
        bytes(at: address, count: 8).littleEndianUInt64(at: 0)
    }
}
