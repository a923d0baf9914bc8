import GdbRemote

/// Inspect's `MemorySource` over a GdbRemote client: virtual ranges through
/// the client's pipelined batch read, physical ranges through QEMU's
/// physical-memory mode. One `read` of one address space is one pipelined
/// exchange.
///
/// Entering and leaving physical mode costs three round trips (query, set,
/// restore). Wrap a whole walk or decode in `withPhysicalMode` to pay them
/// once: inside it, every physical batch is exactly one round trip, which is
/// what makes `vtop` one round trip per level. Outside it, each physical
/// batch switches the mode on and off by itself (correct, just slower).
public final class GdbMemorySource: WritableMemorySource, PhysicalScopedMemorySource {
    /// The connection reads and writes go through.
    public let client: GdbClient
    /// Pipelined exchanges made for reads and writes (mode switches excluded):
    /// the round trips a walk cost.
    public private(set) var exchanges = 0
    private var physicalScopeDepth = 0

    /// Reads and writes through `client` (which must be stopped).
    public init(client: GdbClient) {
        self.client = client
    }

    /// Runs `body` with physical-memory mode entered once, and always restored.
    /// Virtual reads inside the scope are refused (the stub would take them
    /// as physical addresses).
    public func withPhysicalMode<T, Failure: MemoryFailureCarrying>(_ body: () throws(Failure) -> T) throws(Failure) -> T {
        if physicalScopeDepth > 0 { return try body() }
        var outcome: Result<T, Failure>? = nil
        do throws(GdbError) {
            try client.qemu.withPhysicalMemory { () throws(GdbError) in
                physicalScopeDepth += 1
                defer { physicalScopeDepth -= 1 }
                do throws(Failure) { outcome = .success(try body()) } catch { outcome = .failure(error) }
            }
        } catch {
            // The mode switch itself failed; if the body failed too, its error says more.
            if case .failure(let bodyError)? = outcome { throw bodyError }
            throw Failure.memory(GdbMemorySource.memoryError(error, nil))
        }
        return try outcome!.get()
    }

    /// All ranges or the first failure; one exchange per address space in the batch.
    public func read(_ ranges: [MemoryRequest]) throws(MemoryError) -> [[UInt8]] {
        try readEach(ranges).allBytes()
    }

    /// Every range on its own: a stub error or a refused range fails only that range.
    public func readEach(_ ranges: [MemoryRequest]) throws(MemoryError) -> [Result<[UInt8], MemoryError>] {
        var results = [Result<[UInt8], MemoryError>](repeating: .success([]), count: ranges.count)
        for space in [AddressSpace.virtual, .physical] {
            let indices = ranges.indices.filter { ranges[$0].space == space }
            guard !indices.isEmpty else { continue }
            if space == .virtual && physicalScopeDepth > 0 {
                for i in indices {
                    results[i] = .failure(.unreadable(ranges[i], reason: "virtual read inside a physical-memory scope"))
                }
                continue
            }
            let requests = indices.map { GdbRemote.MemoryRange(address: ranges[$0].address, count: ranges[$0].length) }
            var replies: [Result<[UInt8], GdbError>]
            do throws(GdbError) {
                replies = try exchange(requests, physical: space == .physical)
            } catch {
                guard GdbMemorySource.isRefusalOfOneRange(error) else { throw GdbMemorySource.memoryError(error, nil) }
                // A range the client refuses before sending (the QEMU adapter's guard for
                // device memory) sinks the whole batch: retry range by range so only the
                // refused ones fail.
                replies = []
                for request in requests {
                    do throws(GdbError) { replies.append(contentsOf: try exchange([request], physical: space == .physical)) } catch {
                        guard GdbMemorySource.isRefusalOfOneRange(error) else { throw GdbMemorySource.memoryError(error, nil) }
                        replies.append(.failure(error))
                    }
                }
            }
            for (i, reply) in zip(indices, replies) {
                switch reply {
                case .success(let bytes): results[i] = .success(bytes)
                case .failure(let error): results[i] = .failure(GdbMemorySource.memoryError(error, ranges[i]))
                }
            }
        }
        return results
    }

    /// One pipelined exchange; outside a physical scope, physical reads switch the mode around it.
    private func exchange(_ requests: [GdbRemote.MemoryRange], physical: Bool) throws(GdbError) -> [Result<[UInt8], GdbError>] {
        exchanges += 1
        if physical && physicalScopeDepth == 0 {
            return try client.qemu.withPhysicalMemory { () throws(GdbError) in
                try client.readMemoryAllowingFailures(ranges: requests)
            }
        }
        return try client.readMemoryAllowingFailures(ranges: requests)
    }

    /// Writes with `M` packets (physically through PhyMemMode). Invalidate caches above after writing.
    public func write(_ bytes: [UInt8], to address: UInt64, in space: AddressSpace) throws(MemoryError) {
        do throws(GdbError) {
            exchanges += 1
            if space == .physical && physicalScopeDepth == 0 {
                try client.qemu.withPhysicalMemory { () throws(GdbError) in try client.writeMemory(at: address, bytes: bytes) }
            } else if space == .virtual && physicalScopeDepth > 0 {
                throw GdbError(.invalidArgument("virtual write inside a physical-memory scope"), operation: "writeMemory", address: address)
            } else {
                try client.writeMemory(at: address, bytes: bytes)
            }
        } catch {
            throw GdbMemorySource.memoryError(error, MemoryRequest(space, address: address, length: bytes.count))
        }
    }

    /// The client refused a request before sending it (nothing crossed the wire).
    static func isRefusalOfOneRange(_ error: GdbError) -> Bool {
        switch error.kind {
        case .refused, .invalidArgument: return true
        default: return false
        }
    }

    /// Stub errors and refusals concern one range; everything else is the link.
    static func memoryError(_ error: GdbError, _ range: MemoryRequest?) -> MemoryError {
        switch error.kind {
        case .stubError, .refused, .invalidArgument, .malformedReply:
            if let range { return .unreadable(range, reason: error.description) }
            return .transport(error.description)
        default:
            return .transport(error.description)
        }
    }
}
