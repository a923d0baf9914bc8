/// Caches what a stopped target returned, so repeated walks and decodes cost
/// no round trips. The client calls `invalidate()` whenever the target resumes
/// or its memory is written: nothing else can know the cache went stale.
public final class CachingMemorySource: MemorySource {
    /// The uncached source underneath.
    public let underlying: any MemorySource
    private var cache: [MemoryRequest: [UInt8]] = [:]

    /// Wraps `underlying`.
    public init(_ underlying: any MemorySource) {
        self.underlying = underlying
    }

    /// Ranges currently cached.
    public var cachedRangeCount: Int { cache.count }

    /// Drops everything cached (call on resume, step or write).
    public func invalidate() {
        cache.removeAll(keepingCapacity: true)
    }

    /// Answers cached ranges from memory and fetches every miss in ONE batch.
    public func read(_ ranges: [MemoryRequest]) throws(MemoryError) -> [[UInt8]] {
        var misses: [MemoryRequest] = []
        var seen = Set<MemoryRequest>()
        for range in ranges where cache[range] == nil && seen.insert(range).inserted {
            misses.append(range)
        }
        if !misses.isEmpty {
            let fetched = try underlying.read(misses)
            for (range, bytes) in zip(misses, fetched) { cache[range] = bytes }
        }
        return ranges.map { cache[$0]! }
    }

    /// Like `read`, but a range that fails does not fail the others; failures are not cached.
    public func readEach(_ ranges: [MemoryRequest]) throws(MemoryError) -> [Result<[UInt8], MemoryError>] {
        var misses: [MemoryRequest] = []
        var seen = Set<MemoryRequest>()
        for range in ranges where cache[range] == nil && seen.insert(range).inserted {
            misses.append(range)
        }
        var failures: [MemoryRequest: MemoryError] = [:]
        if !misses.isEmpty {
            for (range, result) in zip(misses, try underlying.readEach(misses)) {
                switch result {
                case .success(let bytes): cache[range] = bytes
                case .failure(let error): failures[range] = error
                }
            }
        }
        return ranges.map { range in
            if let bytes = cache[range] { return .success(bytes) }
            return .failure(failures[range] ?? .transport("range \(range) vanished from the cache"))
        }
    }
}

extension CachingMemorySource: WritableMemorySource {
    /// Writes through (when the underlying source can write) and drops the cache.
    public func write(_ bytes: [UInt8], to address: UInt64, in space: AddressSpace) throws(MemoryError) {
        guard let writer = underlying as? any WritableMemorySource else {
            throw .transport("the underlying memory source cannot write")
        }
        invalidate()
        try writer.write(bytes, to: address, in: space)
    }
}
