import Foundation
#if canImport(Glibc)
import Glibc
#endif
import QEMULauncher

/// Runs a child program to completion with a deadline: the one process runner
/// of the test support code.
///
/// stdout and stderr are drained on their own threads while the child runs (a
/// child writing more than a pipe holds never blocks), stdin is written on
/// another thread (a child that does not read it cannot stall the deadline),
/// and the child runs in its own process group, so a timeout kills it AND
/// everything it started, then throws a one-line `Failure.timedOut`.
public enum ChildProcess {
    /// What a finished child left behind.
    public struct Result: Sendable {
        /// The exit status, or 128 + the signal number if a signal ended it.
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// stdout then stderr, for failure messages.
        public var combined: String { stdout + stderr }
        /// The child's peak resident memory (KiB) and wall-clock seconds, for benchmarks.
        public var maxResidentKiB = 0
        public var seconds = 0.0
    }

    /// Why a child could not be run to completion. Each prints as one line.
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notFound(String)
        case launchFailed(command: String, reason: String)
        case timedOut(command: String, seconds: Double, stdoutTail: String, stderrTail: String)

        public var description: String {
            func oneLine(_ text: String) -> String {
                String(text.suffix(300)).replacingOccurrences(of: "\n", with: "\\n")
            }
            switch self {
            case .notFound(let name):
                return "\(name) was not found (not an executable path, not on PATH)"
            case .launchFailed(let command, let reason):
                return "could not start \(command): \(reason)"
            case .timedOut(let command, let seconds, let out, let err):
                return "\(command) did not finish within \(seconds) s (its process group was killed); stdout: \(oneLine(out)); stderr: \(oneLine(err))"
            }
        }
    }

    /// Runs `executable` (a path, or a name looked up on PATH) with `arguments`.
    /// - Parameters:
    ///   - stdin: written to the child's stdin, which is then closed (nil: empty stdin).
    ///   - timeout: seconds until the child's process group is SIGKILLed and `Failure.timedOut` thrown.
    ///   - environment: variables to set (a nil value removes one) on top of this process's environment.
    ///   - currentDirectory: the child's working directory (default: this process's).
    public static func run(_ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Double,
                           environment: [String: String?] = [:], currentDirectory: String? = nil) throws(Failure) -> Result {
        guard let path = QEMUInstance.findExecutable(executable) else { throw .notFound(executable) }
        let command = ([URL(fileURLWithPath: path).lastPathComponent] + arguments).joined(separator: " ")
        let shortCommand = command.count > 120 ? String(command.prefix(117)) + "..." : command

        let input = try makePipe(command: shortCommand)
        let output = try makePipe(command: shortCommand)
        let errors = try makePipe(command: shortCommand)
        let pid: pid_t
        do {
            pid = try spawn(path, arguments, stdin: input.read, stdout: output.write, stderr: errors.write,
                            environment: environment, currentDirectory: currentDirectory)
        } catch {
            for fd in [input.read, input.write, output.read, output.write, errors.read, errors.write] { close(fd) }
            throw .launchFailed(command: shortCommand, reason: error.reason)
        }
        // The child has its copies; ours would keep the pipes open forever.
        close(input.read); close(output.write); close(errors.write)

        let stdoutReader = PipeDrain(output.read)
        let stderrReader = PipeDrain(errors.read)
        let writer = StdinWriter(input.write, bytes: Array((stdin ?? "").utf8))

        let started = Date()
        let deadline = started.addingTimeInterval(timeout)
        var waitStatus: Int32 = 0
        var usage = rusage()
        var exited = false
        while Date() < deadline {
            let reaped = wait4(pid, &waitStatus, WNOHANG, &usage)
            if reaped == pid || (reaped < 0 && errno != EINTR) { exited = reaped == pid; break }
            usleep(2_000)
        }
        if !exited {
            kill(-pid, SIGKILL)
            while waitpid(pid, &waitStatus, 0) < 0 && errno == EINTR {}
            writer.finish()
            // Grandchildren that left the group could hold the pipes: give up on them after a moment.
            let out = stdoutReader.finish(within: 1), err = stderrReader.finish(within: 1)
            throw .timedOut(command: shortCommand, seconds: timeout, stdoutTail: out, stderrTail: err)
        }
        writer.finish()
        let out = stdoutReader.finish(within: 5), err = stderrReader.finish(within: 5)
        let seconds = Date().timeIntervalSince(started)
        return Result(status: decode(waitStatus), stdout: out, stderr: err, maxResidentKiB: usage.ru_maxrss, seconds: seconds)
    }

    /// The child's status as a shell reports it.
    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    private struct SpawnError: Error { let reason: String }

    /// A pipe whose ends are close-on-exec from birth: set with fcntl afterwards,
    /// a spawn on another thread in between would inherit them and hold our
    /// child's pipes open (its output would never reach EOF).
    private static func makePipe(command: String) throws(Failure) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else {
            throw .launchFailed(command: command, reason: "pipe2: \(String(cString: strerror(errno)))")
        }
        return (ends[0], ends[1])
    }

    /// glibc's pipe2, which the Glibc module does not import (it is behind _GNU_SOURCE).
    private static let pipe2: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32 = {
        guard let symbol = dlsym(nil, "pipe2") else { fatalError("libc has no pipe2") }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32).self)
    }()

    /// posix_spawn in a new process group (pgid = pid) with the three pipes as stdio.
    private static func spawn(_ path: String, _ arguments: [String], stdin: Int32, stdout: Int32, stderr: Int32,
                              environment: [String: String?], currentDirectory: String?) throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        if let currentDirectory {
            guard FileManager.default.fileExists(atPath: currentDirectory) else {
                throw SpawnError(reason: "no directory \(currentDirectory)")
            }
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
                throw SpawnError(reason: "this libc has no posix_spawn_file_actions_addchdir_np (glibc >= 2.29)")
            }
            // A GNU extension the Glibc module does not import: looked up by name.
            typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, currentDirectory)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // Default dispositions and an empty mask, whatever the test process changed.
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError(reason: String(cString: strerror(result))) }
        return pid
    }
}

/// Reads a pipe to EOF on its own thread.
private final class PipeDrain: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ fd: Int32) {
        self.fd = fd
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                lock.lock(); data.append(contentsOf: buffer[0..<count]); lock.unlock()
            }
            done.signal()
        }
        thread.start()
    }

    /// Everything read, once EOF arrives or `seconds` pass (then the rest is dropped).
    func finish(within seconds: Double) -> String {
        let reachedEOF = done.wait(timeout: .now() + seconds) == .success
        lock.lock()
        let text = String(decoding: data, as: UTF8.self)
        lock.unlock()
        // After EOF the reader is done with the descriptor; otherwise it still
        // blocks on it, and closing it under the thread could hit a reused fd.
        if reachedEOF { close(fd) }
        return text
    }
}

/// Writes the child's stdin on its own thread, then closes it. A child that
/// exits without reading makes the write fail with EPIPE: SIGPIPE is blocked
/// on this thread, so it cannot kill the test process.
private final class StdinWriter: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(_ fd: Int32, bytes: [UInt8]) {
        let thread = Thread { [done] in
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { break }
                offset += written
            }
            close(fd)
            // Consume a SIGPIPE left pending on this thread.
            var timeout = timespec(tv_sec: 0, tv_nsec: 0)
            _ = sigtimedwait(&pipeSignal, nil, &timeout)
            done.signal()
        }
        thread.start()
    }

    /// Waits for the writer: the child is gone, so its write has ended.
    func finish() { done.wait() }
}
