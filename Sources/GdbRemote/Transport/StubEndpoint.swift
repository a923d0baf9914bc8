#if canImport(Glibc)
import Glibc
#endif

/// An IP address and port as the kernel reports it for a socket.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address's bytes in network order: 4 for IPv4, 16 for IPv6.
    public var address: [UInt8]
    public var port: Int

    public init(address: [UInt8], port: Int) {
        self.address = address
        self.port = port
    }

    /// The same address with an IPv4-mapped IPv6 address (::ffff:a.b.c.d) reduced to IPv4.
    public var unmapped: SocketAddress {
        guard address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF else { return self }
        return SocketAddress(address: Array(address[12..<16]), port: port)
    }

    /// `127.0.0.1:1234` or `[::1]:1234`.
    public var description: String {
        if address.count == 4 { return address.map(String.init).joined(separator: ".") + ":\(port)" }
        var words: [String] = []
        for i in stride(from: 0, to: address.count - 1, by: 2) {
            words.append(String(UInt16(address[i]) << 8 | UInt16(address[i + 1]), radix: 16))
        }
        return "[" + words.joined(separator: ":") + "]:\(port)"
    }
}

/// The two ends of the connection to the stub, as far as the operating system
/// can tell: what it takes to find the process behind a gdbstub (a local QEMU)
/// without asking the stub.
public enum StubEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A TCP connection: our end and the stub's end.
    case tcp(local: SocketAddress, remote: SocketAddress)
    /// A Unix-domain connection; `peerPID` is the process that created the
    /// stub's socket (SO_PEERCRED), nil when the kernel did not say.
    case unix(peerPID: Int32?)

    public var description: String {
        switch self {
        case .tcp(let local, let remote): return "tcp \(local) -> \(remote)"
        case .unix(let pid): return "unix socket, peer pid \(pid.map(String.init) ?? "unknown")"
        }
    }

    /// Reads both ends of connected socket `fd`; nil for other socket families.
    static func of(socket fd: Int32) -> StubEndpoint? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_UNIX:
            // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (not exported to Swift).
            var credentials: (Int32, UInt32, UInt32) = (0, 0, 0)
            var size = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
            let ok = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) == 0 && credentials.0 > 0
            return .unix(peerPID: ok ? credentials.0 : nil)
        case AF_INET, AF_INET6:
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let connected = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &peerLength) }
            }
            guard connected == 0, let local = socketAddress(storage), let remote = socketAddress(peer) else { return nil }
            return .tcp(local: local, remote: remote)
        default:
            return nil
        }
    }

    private static func socketAddress(_ storage: sockaddr_storage) -> SocketAddress? {
        let family = Int32(storage.ss_family)
        return withUnsafeBytes(of: storage) { raw -> SocketAddress? in
            switch family {
            case AF_INET:
                let address = raw.load(as: sockaddr_in.self)
                let bytes = withUnsafeBytes(of: address.sin_addr.s_addr) { Array($0) }  // already network order
                return SocketAddress(address: bytes, port: Int(UInt16(bigEndian: address.sin_port)))
            case AF_INET6:
                let address = raw.load(as: sockaddr_in6.self)
                let bytes = withUnsafeBytes(of: address.sin6_addr) { Array($0) }
                return SocketAddress(address: bytes, port: Int(UInt16(bigEndian: address.sin6_port)))
            default:
                return nil
            }
        }
    }
}
