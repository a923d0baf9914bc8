import Foundation
import TestSupport
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
        let (fd, port) = try LoopbackListener.open()
        self.fd = fd
        self.port = port
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
