import GdbRemote
/// One stretch of guest RAM and where its bytes are on the host.
public struct GuestRAMRegion: Sendable, Equatable, CustomStringConvertible {
    /// First guest-physical address.
    public var guestPhysicalAddress: UInt64
    /// Bytes.
    public var size: UInt64
    /// Where the first byte lives: an offset in the RAM file (mmap), or a host
    /// virtual address in QEMU's address space (process_vm_readv).
    public var backingAddress: UInt64
    /// QEMU's name for the memory region (`ram`, `mmdbg-ram`).
    public var name: String

    public init(guestPhysicalAddress: UInt64, size: UInt64, backingAddress: UInt64, name: String) {
        self.guestPhysicalAddress = guestPhysicalAddress
        self.size = size
        self.backingAddress = backingAddress
        self.name = name
    }

    /// One past the last guest-physical address.
    public var end: UInt64 { guestPhysicalAddress &+ size }

    /// `ram 0x40000000-0x47ffffff @0x7f00...`.
    public var description: String {
        "\(name) \(Hex.format(guestPhysicalAddress))-\(Hex.format(end &- 1)) @\(Hex.format(backingAddress))"
    }
}

/// Where guest RAM is, learned from the target (`info mtree -f`, `gpa2hva`),
/// never assumed: sorted, non-overlapping regions, possibly with holes.
public struct GuestRAMLayout: Sendable, Equatable, CustomStringConvertible {
    /// Sorted by address, non-overlapping, none empty.
    public let regions: [GuestRAMRegion]

    /// Sorts `regions`; nil when two overlap or one is empty or wraps (a layout that cannot be trusted).
    public init?(_ regions: [GuestRAMRegion]) {
        let sorted = regions.sorted { $0.guestPhysicalAddress < $1.guestPhysicalAddress }
        for region in sorted where region.size == 0 || region.guestPhysicalAddress.addingReportingOverflow(region.size - 1).overflow {
            return nil
        }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.guestPhysicalAddress < a.end { return nil }
        guard !sorted.isEmpty else { return nil }
        self.regions = sorted
    }

    /// Total bytes of RAM.
    public var totalSize: UInt64 { regions.reduce(0) { $0 + $1.size } }

    /// One piece of a range in the backing.
    public struct Piece: Equatable, Sendable {
        /// Offset in the file or host virtual address.
        public var backingAddress: UInt64
        /// Offset of this piece in the requested range.
        public var offset: Int
        public var length: Int

        public init(backingAddress: UInt64, offset: Int, length: Int) {
            self.backingAddress = backingAddress
            self.offset = offset
            self.length = length
        }
    }

    /// Where `length` bytes at guest-physical `address` live, one piece per
    /// region crossed; nil when any byte is outside RAM (a hole, MMIO, beyond the end).
    public func pieces(address: UInt64, length: Int) -> [Piece]? {
        guard length > 0 else { return [] }
        let (last, overflow) = address.addingReportingOverflow(UInt64(length) - 1)
        guard !overflow, var index = regionIndex(containing: address) else { return nil }
        var pieces: [Piece] = []
        var cursor = address
        while true {
            let region = regions[index]
            let inRegion = cursor - region.guestPhysicalAddress
            let take = min(UInt64(length) - (cursor - address), region.size - inRegion)
            pieces.append(Piece(backingAddress: region.backingAddress + inRegion, offset: Int(cursor - address), length: Int(take)))
            cursor += take
            if cursor > last || cursor == 0 { return pieces }
            // The range goes on: only into a region that starts exactly here.
            index += 1
            guard index < regions.count, regions[index].guestPhysicalAddress == cursor else { return nil }
        }
    }

    /// Whether every byte of the range is RAM.
    public func covers(address: UInt64, length: Int) -> Bool { pieces(address: address, length: length) != nil }

    /// The region holding `address` (binary search).
    func regionIndex(containing address: UInt64) -> Int? {
        var low = 0, high = regions.count
        while low < high {
            let mid = (low + high) / 2
            if regions[mid].end <= address && regions[mid].end != 0 { low = mid + 1 } else { high = mid }
        }
        guard low < regions.count, regions[low].guestPhysicalAddress <= address,
              address - regions[low].guestPhysicalAddress < regions[low].size else { return nil }
        return low
    }

    public var description: String { regions.map(\.description).joined(separator: ", ") }
}
