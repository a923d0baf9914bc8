#if canImport(Glibc)
import Glibc
#endif

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
    /// Where a batch of small ranges lands before being split into results;
    /// kept by the source so its pages are faulted in once, not per batch.
    var scratch: DirectReadScratch { get }
}

/// A reusable staging buffer for batches of small direct reads. A fresh
/// allocation per batch (a walk's 1.2 MB of tables) came from a new mmap each
/// time, and its page faults cost more than the copies (about 2 ms per
/// page-table dump on this VM).
public final class DirectReadScratch {
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// Kept between batches up to this size; a larger one is released after use.
    static let keptBytes = 16 << 20

    public init() {}

    deinit { buffer.deallocate() }

    /// A buffer of at least `count` bytes, valid until the next call.
    func take(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if buffer.count < count {
            buffer.deallocate()
            buffer = .allocate(byteCount: max(count, 64 << 10), alignment: 4096)
        }
        return buffer
    }

    /// Drops an oversized buffer once the batch is done.
    func trim() {
        if buffer.count > Self.keptBytes {
            buffer.deallocate()
            buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
    }
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
                preferHugePages(base)
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
        let scratch = self.scratch.take(total)
        defer { self.scratch.trim() }
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
        try readEach(ranges).allBytes()
    }
}

/// Asks for transparent huge pages under a large, fresh result buffer. Filling
/// it is otherwise one page fault per 4 KiB, which costs more than the copy
/// itself (measured here: 256 MiB at ~0.7 GiB/s with 4 KiB faults, ~2 GiB/s
/// with THP in `madvise` mode). Only the 2 MiB-aligned interior can use them;
/// a no-op where THP is off.
func preferHugePages(_ buffer: UnsafeMutableRawBufferPointer) {
    let hugePage = 2 << 20
    guard buffer.count >= 2 * hugePage, let base = buffer.baseAddress else { return }
    let start = (Int(bitPattern: base) + hugePage - 1) & ~(hugePage - 1)
    let end = (Int(bitPattern: base) + buffer.count) & ~(hugePage - 1)
    guard end > start else { return }
    _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE)
}
