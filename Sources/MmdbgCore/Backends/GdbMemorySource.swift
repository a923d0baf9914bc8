import GdbRemote
import Inspect

/// Inspect's `MemorySource` over the GdbRemote client: virtual ranges through
/// the pipelined batch read, physical ranges through QEMU's scoped
/// physical-memory mode. One `read` call is one pipelined exchange.
final class GdbMemorySource: MemorySource {
    let client: GdbClient

    init(client: GdbClient) { self.client = client }

    func read(_ ranges: [MemoryRequest]) throws(MemoryError) -> [[UInt8]] {
        var results = [[UInt8]](repeating: [], count: ranges.count)
        for space in [AddressSpace.virtual, .physical] {
            let indices = ranges.indices.filter { ranges[$0].space == space }
            guard !indices.isEmpty else { continue }
            let requests = indices.map { GdbRemote.MemoryRange(address: ranges[$0].address, count: ranges[$0].length) }
            do throws(GdbError) {
                let replies = space == .virtual ? try client.readMemory(ranges: requests)
                    : try client.qemu.readPhysicalMemory(ranges: requests)
                for (index, reply) in zip(indices, replies) { results[index] = reply }
            } catch {
                if case .stubError = error.kind {
                    throw .unreadable(ranges[indices[0]], reason: error.description)
                }
                throw .transport(error.description)
            }
        }
        return results
    }
}
