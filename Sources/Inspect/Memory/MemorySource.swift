import GdbRemote

/// Which address space a read addresses.
public enum AddressSpace: String, Codable, Sendable, Hashable {
    /// Virtual addresses, translated by the target's current MMU state.
    case virtual
    /// Physical addresses (QEMU's physical-memory mode).
    case physical
}

/// One range of guest memory to read.
public struct MemoryRequest: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Virtual or physical.
    public var space: AddressSpace
    /// First byte.
    public var address: UInt64
    /// Bytes to read.
    public var length: Int

    /// `length` bytes at `address` in `space`.
    public init(_ space: AddressSpace, address: UInt64, length: Int) {
        self.space = space
        self.address = address
        self.length = length
    }

    /// `physical 0x40000000+4096`.
    public var description: String { "\(space) \(Hex.format(address))+\(length)" }
}

/// Why a memory read failed. Each prints as one line.
public enum MemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The target could not read this range (unmapped, unbacked, refused).
    case unreadable(MemoryRequest, reason: String)
    /// The transport to the target failed (disconnect, timeout, protocol error).
    case transport(String)
    /// The target answered with a different amount of data than asked for.
    case shortRead(MemoryRequest, got: Int)

    public var description: String {
        switch self {
        case .unreadable(let range, let reason): return "cannot read \(range): \(reason)"
        case .transport(let why): return "memory read failed: \(why)"
        case .shortRead(let range, let got): return "short read of \(range): got \(got) bytes"
        }
    }
}

/// Where guest memory comes from: a gdbstub, a core file, or synthetic memory
/// in tests. Everything in Inspect reads through this one protocol.
///
/// A source must answer a whole batch in one go (pipelined over the wire when
/// the source is remote): callers collect every range they need at a level of
/// a walk and ask once, so the number of `read` calls is the number of round
/// trips.
public protocol MemorySource: AnyObject {
    /// Reads every range; the result has one byte array per range, in order,
    /// each exactly `range.length` bytes long.
    func read(_ ranges: [MemoryRequest]) throws(MemoryError) -> [[UInt8]]

    /// Reads every range in one batch where each range may fail on its own
    /// (a table pointer into device memory must not sink a whole dump).
    /// Throws only when the source itself fails (transport).
    func readEach(_ ranges: [MemoryRequest]) throws(MemoryError) -> [Result<[UInt8], MemoryError>]
}

extension MemorySource {
    /// Default: all or nothing; on failure, retries the ranges one by one to
    /// find which failed (sources that can report per range override this).
    public func readEach(_ ranges: [MemoryRequest]) throws(MemoryError) -> [Result<[UInt8], MemoryError>] {
        do {
            return try read(ranges).map { .success($0) }
        } catch {
            if case .transport = error { throw error }
            if ranges.count == 1 { return [.failure(error)] }
            var results: [Result<[UInt8], MemoryError>] = []
            for range in ranges {
                do { results.append(.success(try read([range])[0])) } catch {
                    if case .transport = error { throw error }
                    results.append(.failure(error))
                }
            }
            return results
        }
    }
}

extension MemorySource {
    /// Reads one range (one round trip).
    public func read(_ range: MemoryRequest) throws(MemoryError) -> [UInt8] {
        let result = try read([range])
        return result[0]
    }

    /// Reads one little-endian 64-bit word.
    public func readUInt64(_ space: AddressSpace, at address: UInt64) throws(MemoryError) -> UInt64 {
        let bytes = try read(MemoryRequest(space, address: address, length: 8))
        return bytes.littleEndianUInt64(at: 0)
    }
}

/// A source that can also write guest memory (tests corrupt a PTE with it;
/// fault injection patches memory). Writers must drop any cache they keep.
/// A source whose physical reads can run inside one scope that is set up
/// once (QEMU's gdbstub switches into physical-memory mode and back: three
/// round trips). Callers that read many tables group them with it.
public protocol PhysicalScopedMemorySource: MemorySource {
    /// Runs `body` with physical reads served in one scope; nested scopes are free.
    func withPhysicalMode<T, Failure: MemoryFailureCarrying>(_ body: () throws(Failure) -> T) throws(Failure) -> T
}

public protocol WritableMemorySource: MemorySource {
    /// Writes `bytes` at `address` in `space`.
    func write(_ bytes: [UInt8], to address: UInt64, in space: AddressSpace) throws(MemoryError)
}

extension Array where Element == UInt8 {
    /// The little-endian 64-bit word at byte `offset` (the caller checks bounds).
    @inlinable
    public func littleEndianUInt64(at offset: Int) -> UInt64 {
        withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }
}


extension Array where Element == Result<[UInt8], MemoryError> {
    /// Every range's bytes, or the first failure: `read` for a source that implements `readEach`.
    public func allBytes() throws(MemoryError) -> [[UInt8]] {
        var all: [[UInt8]] = []
        all.reserveCapacity(count)
        for result in self {
            switch result {
            case .success(let bytes): all.append(bytes)
            case .failure(let error): throw error
            }
        }
        return all
    }
}
