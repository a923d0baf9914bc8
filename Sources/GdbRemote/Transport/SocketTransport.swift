#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Where a stub listens.
public enum GdbAddress: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses "host:port", ":port", "port" or a path containing `/` (a Unix socket).
    public init?(parsing text: String) {
        if text.contains("/") { self = .unix(path: text); return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 1, let port = Int(parts[0]), (1...65535).contains(port) { self = .tcp(host: "127.0.0.1", port: port); return }
        guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else { return nil }
        self = .tcp(host: parts[0].isEmpty ? "127.0.0.1" : String(parts[0]), port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): return "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

/// A TCP (with TCP_NODELAY) or Unix-domain stream socket. Non-blocking
/// underneath, every wait goes through poll() with the caller's deadline.
public final class SocketTransport: GdbTransport, @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var isClosed = false

    /// Connects before the deadline or throws.
    public init(connectingTo address: GdbAddress, deadline: Deadline) throws(TransportError) {
        switch address {
        case .tcp(let host, let port):
            fd = try SocketTransport.connectTCP(host: host, port: port, deadline: deadline)
        case .unix(let path):
            fd = try SocketTransport.connectUnix(path: path, deadline: deadline)
        }
        SocketTransport.configureBlockingReceive(fd)
    }

    /// Wraps an already connected socket (e.g. one end of socketpair()); takes ownership.
    public init(adopting fd: Int32) {
        self.fd = fd
        SocketTransport.configureBlockingReceive(fd)
    }

    deinit { close() }

    /// Both ends of the connection (nil once closed).
    public var endpoint: StubEndpoint? {
        lock.lock(); defer { lock.unlock() }
        return isClosed ? nil : StubEndpoint.of(socket: fd)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, deadline: Deadline) throws(TransportError) {
        var offset = 0
        while offset < bytes.count {
            guard !closedFlag else { throw .closed }
            let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            if n > 0 { offset += n; continue }
            let code = errno
            if n < 0 && (code == EAGAIN || code == EWOULDBLOCK || code == EINTR) {
                try waitFor(Int16(POLLOUT), deadline: deadline)
                continue
            }
            if code == EPIPE || code == ECONNRESET { throw .closed }
            throw .failed(operation: "send", errno: code)
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, deadline: Deadline) throws(TransportError) -> Int {
        while true {
            guard !closedFlag else { throw .closed }
            // A blocking recv bounded by SO_RCVTIMEO answers a quick reply in one system
            // call; poll() takes over for deadlines shorter than that slice.
            let blocking = deadline.remainingSeconds >= SocketTransport.receiveSlice
            let n = recv(fd, buffer.baseAddress, buffer.count, blocking ? 0 : Int32(MSG_DONTWAIT))
            if n > 0 { return n }
            if n == 0 { throw .closed }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR {
                if !blocking { try waitFor(Int16(POLLIN), deadline: deadline) }
                continue
            }
            if code == ECONNRESET { throw .closed }
            throw .failed(operation: "recv", errno: code)
        }
    }

    /// One non-blocking recv: 0 when nothing has arrived.
    public func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int {
        guard !closedFlag else { throw .closed }
        let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
        if n > 0 { return n }
        if n == 0 { throw .closed }
        let code = errno
        if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return 0 }
        if code == ECONNRESET { throw .closed }
        throw .failed(operation: "recv", errno: code)
    }

    /// The longest a single blocking recv waits before the deadline is checked again.
    static let receiveSlice = 0.02

    /// Blocking mode with SO_RCVTIMEO = `receiveSlice`; sends use MSG_DONTWAIT.
    private static func configureBlockingReceive(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        var slice = timeval(tv_sec: 0, tv_usec: Int(receiveSlice * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &slice, socklen_t(MemoryLayout<timeval>.size))
    }

    public func close() {
        lock.lock()
        defer { lock.unlock() }
        if !isClosed {
            isClosed = true
            shutdown(fd, Int32(SHUT_RDWR))
            _ = Glibc.close(fd)
        }
    }

    private var closedFlag: Bool { lock.lock(); defer { lock.unlock() }; return isClosed }

    private func waitFor(_ events: Int16, deadline: Deadline) throws(TransportError) {
        try SocketTransport.poll(fd, events: events, deadline: deadline)
    }

    static func poll(_ fd: Int32, events: Int16, deadline: Deadline) throws(TransportError) {
        while true {
            var pfd = pollfd(fd: fd, events: events, revents: 0)
            let timeout = deadline.remainingMillisecondsForPoll
            let r = Glibc.poll(&pfd, 1, timeout)
            if r > 0 { return }  // readable, writable, or hung up: the next call tells which
            if r == 0 { throw .timedOut }
            if errno != EINTR { throw .failed(operation: "poll", errno: errno) }
        }
    }

    private static func makeNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
    }

    private static func connectTCP(host: String, port: Int, deadline: Deadline) throws(TransportError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            throw .failed(operation: "resolve \(host): \(String(cString: gai_strerror(rc)))", errno: 0)
        }
        defer { freeaddrinfo(result) }
        var lastError = TransportError.failed(operation: "connect", errno: ECONNREFUSED)
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
            if fd < 0 { lastError = .failed(operation: "socket", errno: errno); continue }
            var one: Int32 = 1
            // Small request/reply packets: never let Nagle hold them back.
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            do throws(TransportError) {
                try connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen, deadline: deadline)
                return fd
            } catch {
                Glibc.close(fd)
                lastError = error
            }
        }
        throw lastError
    }

    private static func connectUnix(path: String, deadline: Deadline) throws(TransportError) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else { throw .failed(operation: "unix socket path too long", errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .failed(operation: "socket", errno: errno) }
        do throws(TransportError) {
            try withUnsafePointer(to: &addr) { (p) throws(TransportError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { (sa) throws(TransportError) in
                    try connect(fd, sa, socklen_t(MemoryLayout<sockaddr_un>.size), deadline: deadline)
                }
            }
            return fd
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// Non-blocking connect bounded by the deadline; leaves the socket non-blocking.
    private static func connect(_ fd: Int32, _ addr: UnsafePointer<sockaddr>, _ len: socklen_t, deadline: Deadline) throws(TransportError) {
        makeNonBlocking(fd)
        if Glibc.connect(fd, addr, len) == 0 { return }
        guard errno == EINPROGRESS || errno == EINTR else { throw .failed(operation: "connect", errno: errno) }
        try poll(fd, events: Int16(POLLOUT), deadline: deadline)
        var error: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size)
        if error != 0 { throw .failed(operation: "connect", errno: error) }
    }
}
