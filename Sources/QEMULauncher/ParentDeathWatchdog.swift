import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Kills a QEMU when this process dies, even by SIGKILL (which no handler sees).
///
/// A tiny `sh` supervisor reads a socket whose write end only this process holds
/// (close-on-exec, so no other child inherits it). The kernel closes that end
/// when this process dies, however it dies; the supervisor's `read` then hits
/// EOF and it kills QEMU by PID. QEMU stays our direct child, so its PID and
/// exit status are the real ones. PR_SET_PDEATHSIG is not used: it fires when
/// the forking *thread* exits, and Foundation may spawn from a worker thread.
final class ParentDeathWatchdog: @unchecked Sendable {
    private let supervisor: Process
    private let writeEnd: Int32
    private let lock = NSLock()
    private var disarmed = false

    /// Starts watching `pid`; after killing it, also removes `file` (QEMU's
    /// shared RAM file, if it is still there). Fails if `sh` cannot be started.
    init(watching pid: Int32, removing file: String? = nil) throws(QEMUError) {
        var ends: [Int32] = [-1, -1]
        // A socket pair, because it can be made close-on-exec atomically (pipe2
        // is not imported): a spawn on another thread never inherits it.
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw .launchFailed("socketpair for the QEMU watchdog: \(String(cString: strerror(errno)))")
        }
        let supervisor = Process()
        supervisor.executableURL = URL(fileURLWithPath: "/bin/sh")
        // Ctrl-C goes to the whole foreground group: only EOF may end the supervisor.
        supervisor.arguments = ["-c", "trap '' INT QUIT TSTP; while read -r _; do :; done; kill -KILL \"$1\" 2>/dev/null; "
                                    + "if [ -n \"$2\" ]; then rm -f -- \"$2\"; fi",
                                "mmdbg-qemu-watchdog", String(pid), file ?? ""]
        supervisor.standardInput = FileHandle(fileDescriptor: ends[0], closeOnDealloc: false)
        supervisor.standardOutput = FileHandle.nullDevice
        supervisor.standardError = FileHandle.nullDevice
        do { try supervisor.run() } catch {
            close(ends[0]); close(ends[1])
            throw .launchFailed("/bin/sh for the QEMU watchdog: \(error)")
        }
        // Only the supervisor may hold the read end; only we hold the write end.
        close(ends[0])
        self.supervisor = supervisor
        self.writeEnd = ends[1]
    }

    /// The supervisor's PID (tests check it goes away with QEMU).
    var pid: Int32 { supervisor.processIdentifier }

    /// Stops the supervisor without letting it kill anything. `stop()` calls it
    /// before killing and reaping QEMU; when QEMU exits by itself, Foundation
    /// reaps it and the termination handler calls this right after, so only a
    /// parent death inside that instant could reach a recycled PID.
    func disarm() {
        lock.lock()
        defer { lock.unlock() }
        guard !disarmed else { return }
        disarmed = true
        // Once kill() returns, a pending SIGKILL lets the supervisor run no more
        // user code, so closing our end afterwards cannot make it act. No wait:
        // this may run in Foundation's termination handler; Foundation reaps it.
        if supervisor.isRunning { kill(supervisor.processIdentifier, SIGKILL) }
        close(writeEnd)
    }

    deinit { disarm() }
}
