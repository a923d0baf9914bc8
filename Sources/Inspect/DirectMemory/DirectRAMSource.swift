/// Guest RAM read without the stub: a mapped RAM file (`MappedRAMMemorySource`)
/// or QEMU's own memory (`ProcessMemorySource`); tests add a fake. Only
/// physical ranges inside `layout` are served, and only while the target is
/// stopped, which the caller guarantees (`DirectPhysicalMemorySource` does).
public protocol DirectRAMSource: MemorySource {
    /// Where guest RAM is, and where each region lives in the backing.
    var layout: GuestRAMLayout { get }
    /// How bytes arrive, for `status`: `direct (mmap)`, `direct (process_vm_readv)`.
    var pathDescription: String { get }
    /// Copies every request (each physical and inside `layout`, already
    /// resolved to `pieces`) into its buffer, in one go where the mechanism
    /// allows (one process_vm_readv for the whole batch). Throws `.transport`
    /// when the mechanism itself fails (QEMU gone).
    func copy(_ pieces: [GuestRAMLayout.Piece], into buffers: [UnsafeMutableRawBufferPointer]) throws(MemoryError)
}

extension DirectRAMSource {
    /// Ranges this long or longer are copied straight into their result.
    static var largeRange: Int { 64 << 10 }

    /// Physical ranges inside `layout`; anything else fails alone as unreadable.
    public func readEach(_ ranges: [MemoryRequest]) throws(MemoryError) -> [Result<[UInt8], MemoryError>] {
        var results = [Result<[UInt8], MemoryError>](repeating: .success([]), count: ranges.count)
        var served: [(index: Int, pieces: [GuestRAMLayout.Piece])] = []
        for (i, range) in ranges.enumerated() {
            guard range.space == .physical else {
                results[i] = .failure(.unreadable(range, reason: "\(pathDescription) reads physical addresses only"))
                continue
            }
            guard range.length >= 0, let pieces = layout.pieces(address: range.address, length: range.length) else {
                results[i] = .failure(.unreadable(range, reason: "outside guest RAM (\(layout))"))
                continue
            }
            served.append((i, pieces))
        }
        // Large ranges are copied straight into their own array; the small ones (a
        // walk's tables) share one scratch block and ONE copy call, then are split.
        var small: [(index: Int, pieces: [GuestRAMLayout.Piece])] = []
        for entry in served {
            let length = ranges[entry.index].length
            guard length >= Self.largeRange else { small.append(entry); continue }
            var failure: MemoryError? = nil
            let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
                let base = UnsafeMutableRawBufferPointer(buffer)
                do throws(MemoryError) {
                    try copy(entry.pieces, into: entry.pieces.map { UnsafeMutableRawBufferPointer(rebasing: base[$0.offset..<$0.offset + $0.length]) })
                } catch { failure = error; base.initializeMemory(as: UInt8.self, repeating: 0) }
                count = length
            }
            if let failure { throw failure }
            results[entry.index] = .success(bytes)
        }
        guard !small.isEmpty else { return results }
        let total = small.reduce(0) { $0 + ranges[$1.index].length }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 16)
        defer { scratch.deallocate() }
        var pieces: [GuestRAMLayout.Piece] = []
        var targets: [UnsafeMutableRawBufferPointer] = []
        var starts: [Int] = []
        var cursor = 0
        for entry in small {
            starts.append(cursor)
            for piece in entry.pieces {
                pieces.append(piece)
                targets.append(UnsafeMutableRawBufferPointer(rebasing: scratch[cursor + piece.offset..<cursor + piece.offset + piece.length]))
            }
            cursor += ranges[entry.index].length
        }
        try copy(pieces, into: targets)
        for (entry, start) in zip(small, starts) {
            results[entry.index] = .success(Array(scratch[start..<start + ranges[entry.index].length]))
        }
        return results
    }

    /// All ranges, or the first failure.
    public func read(_ ranges: [MemoryRequest]) throws(MemoryError) -> [[UInt8]] {
        var all: [[UInt8]] = []
        all.reserveCapacity(ranges.count)
        for result in try readEach(ranges) {
            switch result {
            case .success(let bytes): all.append(bytes)
            case .failure(let error): throw error
            }
        }
        return all
    }
}
