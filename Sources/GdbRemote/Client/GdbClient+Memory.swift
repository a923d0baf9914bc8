extension GdbClient {
    /// Reads `count` bytes at `address`, split at the stub's limit and pipelined.
    public func readMemory(at address: UInt64, count: Int) throws(GdbError) -> [UInt8] {
        try readMemory(ranges: [MemoryRange(address: address, count: count)])[0]
    }

    /// Reads many ranges in one pipelined exchange (the page-table walker asks for a
    /// whole level at once). Throws the first failure, naming its address.
    public func readMemory(ranges: [MemoryRange]) throws(GdbError) -> [[UInt8]] {
        var results: [[UInt8]] = []
        for result in try readMemoryAllowingFailures(ranges: ranges) {
            switch result {
            case .success(let bytes): results.append(bytes)
            case .failure(let error): throw error
            }
        }
        return results
    }

    /// Reads many ranges in one pipelined exchange; each range succeeds or fails
    /// on its own (an unmapped page fails only the ranges that touch it).
    public func readMemoryAllowingFailures(ranges: [MemoryRange]) throws(GdbError) -> [Result<[UInt8], GdbError>] {
        try locked { () throws(GdbError) -> [Result<[UInt8], GdbError>] in
            struct Chunk { let range: Int; let offset: Int; let address: UInt64; let count: Int }
            let chunkSize = memoryReadChunkSize
            var chunks: [Chunk] = []
            for (i, range) in ranges.enumerated() {
                guard range.count >= 0, range.end != nil else {
                    throw error(.invalidArgument("range \(range) is negative or wraps past 2^64"), "readMemory", address: range.address)
                }
                if let guardCheck = memoryReadGuard, let why = try guardCheck(self, range) {
                    throw error(.refused(why), "readMemory", address: range.address)
                }
                var offset = 0
                while offset < range.count {
                    let n = min(chunkSize, range.count - offset)
                    chunks.append(Chunk(range: i, offset: offset, address: range.address &+ UInt64(offset), count: n))
                    offset += n
                }
            }
            var buffers = ranges.map { [UInt8](repeating: 0, count: $0.count) }
            var failures = [GdbError?](repeating: nil, count: ranges.count)
            let packets = chunks.map { Packet.memory(.read(address: $0.address, count: $0.count)) }
            try connection.exchange(packets, operation: "readMemory") { index, reply in
                let chunk = chunks[index]
                guard failures[chunk.range] == nil else { return }
                var packet: String { packets[index].description }
                if reply.count == 3, reply[0] == UInt8(ascii: "E"), let code = Hex.number(reply[1...]) {
                    failures[chunk.range] = self.error(.stubError(code: UInt8(code)), "readMemory", packet: packet, address: chunk.address)
                    return
                }
                let ok = reply.count == chunk.count * 2 && buffers[chunk.range].withUnsafeMutableBufferPointer { dst in
                    Hex.decode(reply, into: UnsafeMutableBufferPointer(rebasing: dst[chunk.offset..<chunk.offset + chunk.count]))
                }
                if !ok {
                    let why = reply.isEmpty ? "empty reply" : reply.count != chunk.count * 2 ? "\(reply.count / 2) bytes instead of \(chunk.count)" : "not hex"
                    failures[chunk.range] = self.error(.malformedReply(why), "readMemory", packet: packet, address: chunk.address)
                }
            }
            return ranges.indices.map { i in
                if let failure = failures[i] { return .failure(failure) }
                return .success(buffers[i])
            }
        }
    }

    /// Writes `bytes` at `address` with `M` packets, split to fit the stub's PacketSize and pipelined.
    public func writeMemory(at address: UInt64, bytes: [UInt8]) throws(GdbError) {
        try locked { () throws(GdbError) in
            guard MemoryRange(address: address, count: bytes.count).end != nil else {
                throw error(.invalidArgument("write of \(bytes.count) bytes wraps past 2^64"), "writeMemory", address: address)
            }
            var packets: [Packet] = []
            var addresses: [UInt64] = []
            var offset = 0
            while offset < bytes.count {
                let n = min(memoryWriteChunkSize, bytes.count - offset)
                let chunkAddress = address &+ UInt64(offset)
                packets.append(.memory(.write(address: chunkAddress, bytes: Array(bytes[offset..<offset + n]))))
                addresses.append(chunkAddress)
                offset += n
            }
            let replies = try connection.exchange(packets, operation: "writeMemory")
            for (i, reply) in replies.enumerated() {
                try expectOK(reply, operation: "writeMemory", packet: "M" + String(addresses[i], radix: 16) + ",...", address: addresses[i])
            }
        }
    }
}
