import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The adapter's byte stream: stdio, or one TCP connection accepted on a
/// loopback port. Writes from several threads are serialized.
public final class DAPTransport: @unchecked Sendable {
    let input: Int32
    let output: Int32
    private let writeLock = NSLock()
    private var broken = false

    public init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    /// Waits for one client on 127.0.0.1:`port` (0 = any free port; `ready` hears the port).
    public static func acceptOne(port: Int, ready: (Int) -> Void) throws(DAPTransportError) -> DAPTransport {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw .failed("socket: \(String(cString: strerror(errno)))") }
        defer { Glibc.close(listener) }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withLoopbackAddress(port: port) { bind(listener, $0, $1) }
        guard bound == 0 else { throw .failed("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        guard listen(listener, 1) == 0 else { throw .failed("listen: \(String(cString: strerror(errno)))") }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        ready(Int(UInt16(bigEndian: actual.sin_port)))
        var connection: Int32
        repeat { connection = accept(listener, nil, nil) } while connection < 0 && errno == EINTR
        guard connection >= 0 else { throw .failed("accept: \(String(cString: strerror(errno)))") }
        return DAPTransport(input: connection, output: connection)
    }

    /// Calls `body` with 127.0.0.1:`port` as a `sockaddr` (for bind and connect).
    public static func withLoopbackAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }

    /// Reads what is there (blocking); empty at end of stream or on an error.
    func read() -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            return n <= 0 ? [] : Array(buffer[..<n])
        }
    }

    /// Sends one message (framed); false once the client is gone.
    @discardableResult
    func send(_ message: [String: Any]) -> Bool {
        guard let body = try? JSONSerialization.data(withJSONObject: message, options: [.sortedKeys]) else { return false }
        let bytes = DAPFrameDecoder.frame([UInt8](body))
        return writeLock.withLock {
            if broken { return false }
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(output, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { broken = true; return false }
                offset += n
            }
            return true
        }
    }

    func close() {
        if input == output, input > 2 { Glibc.close(input) }
    }
}

public enum DAPTransportError: Error, CustomStringConvertible {
    case failed(String)
    public var description: String { if case .failed(let why) = self { return why } else { return "" } }
}
