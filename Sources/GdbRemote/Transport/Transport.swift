/// Why a transport operation failed. The connection layer adds the packet
/// and operation when it turns this into a `GdbError`.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing arrived (or could be written) before the deadline.
    case timedOut
    /// The peer closed the connection.
    case closed
    /// A system call failed.
    case failed(operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .timedOut: return "timed out"
        case .closed: return "connection closed by peer"
        case .failed(let op, let code): return "\(op) failed: \(TransportError.errnoText(code))"
        }
    }

    static func errnoText(_ code: Int32) -> String {
        if let text = strerror(code) { return "\(String(cString: text)) (errno \(code))" }
        return "errno \(code)"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bidirectional byte stream with deadlines. Implementations must allow one
/// reader and one writer on different threads at the same time (the client
/// sends 0x03 from another thread while a reader waits for a stop).
public protocol GdbTransport: AnyObject, Sendable {
    /// Writes all of `bytes` before the deadline.
    func write(_ bytes: UnsafeRawBufferPointer, deadline: Deadline) throws(TransportError)
    /// Reads at least one byte into `buffer`, returning how many; waits until the deadline.
    func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(TransportError) -> Int
    /// Reads whatever has already arrived without waiting; 0 if nothing has.
    func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int
    /// Closes the stream; later calls fail with `.closed`. Idempotent.
    func close()
}

extension GdbTransport {
    /// Default: a read whose deadline has already passed.
    public func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int {
        do throws(TransportError) {
            return try read(into: buffer, deadline: Deadline(uptimeNanoseconds: 0))
        } catch {
            if error == .timedOut { return 0 }
            throw error
        }
    }
}

extension GdbTransport {
    /// Writes an array of bytes.
    public func write(_ bytes: [UInt8], deadline: Deadline) throws(TransportError) {
        let result: Result<Void, TransportError> = bytes.withUnsafeBytes { raw in
            do throws(TransportError) { try write(raw, deadline: deadline); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }
}
