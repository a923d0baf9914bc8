import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A "gdbstub" on 127.0.0.1 that accepts one connection, waits for the
/// client's first bytes (the handshake has begun) and hangs up: a stub that
/// dies during the handshake. Call `stop()` (in `defer`) to close it.
final class ClosingStub: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let done = DispatchSemaphore(value: 0)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MmdbgBinary.Failure(description: "socket() failed") }
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw MmdbgBinary.Failure(description: "could not listen on 127.0.0.1")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [fd, done] in
            defer { done.signal() }
            // A deadline on the wait for the client: poll, never a blocking accept forever.
            var listener = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&listener, 1, 30_000) == 1 else { return }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var incoming = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            if poll(&incoming, 1, 10_000) == 1 {
                var buffer = [UInt8](repeating: 0, count: 256)
                _ = read(client, &buffer, buffer.count)
            }
            close(client)
        }
    }

    /// Closes the listening socket and waits (bounded) for the accept thread.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        _ = done.wait(timeout: .now() + 35)
        close(fd)
    }
}
