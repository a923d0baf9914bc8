import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How to start QEMU for our targets. Defaults match the bundled kernel:
/// `-M virt -cpu cortex-a53 -m 128M`, serial on stdout (captured).
public struct QEMUConfiguration: Sendable {
    /// Where the gdbstub listens.
    public enum GdbStub: Sendable, Equatable {
        case none
        /// A free TCP port on 127.0.0.1 is chosen at launch.
        case tcpFreePort
        case tcp(port: Int)
        case unixSocket(path: String)
    }

    public var kernel: String
    public var machine = "virt"
    public var cpu = "cortex-a53"
    public var memory = "128M"
    public var smp = 1
    /// Kernel command line (`-append`), read by the kernel from the device tree.
    public var append: String? = nil
    public var gdb: GdbStub = .none
    /// `-S`: stop at the first instruction until a debugger continues.
    public var stoppedAtEntry = false
    /// `-icount shift=N,...`: deterministic instruction counting.
    public var icountShift: Int? = nil
    /// `-no-shutdown`: power-off stops the VM instead of exiting QEMU.
    public var noShutdown = false
    public var extraArguments: [String] = []
    /// The QEMU binary; found on PATH by default.
    public var executable = "qemu-system-aarch64"

    public init(kernel: String) { self.kernel = kernel }
}

/// Errors from starting and supervising QEMU. Each prints as one line.
public enum QEMUError: Error, CustomStringConvertible, Equatable {
    case executableNotFound(String)
    case kernelNotFound(String)
    case launchFailed(String)
    case timedOut(waitingFor: String, seconds: Double, lastOutput: String)
    case exitedEarly(status: Int32, output: String)

    public var description: String {
        switch self {
        case .executableNotFound(let name):
            return "\(name) not found on PATH: install it with `apt-get install -y qemu-system-arm`"
        case .kernelNotFound(let path):
            return "kernel image \(path) not found: build it with `scripts/build-kernel.sh`"
        case .launchFailed(let why):
            return "could not start QEMU: \(why)"
        case .timedOut(let what, let seconds, let last):
            return "timed out after \(seconds)s waiting for \(what); last output: \(last.suffix(300).replacingOccurrences(of: "\n", with: "\\n"))"
        case .exitedEarly(let status, let output):
            return "QEMU exited with status \(status): \(output.suffix(300).replacingOccurrences(of: "\n", with: "\\n"))"
        }
    }
}

/// A running QEMU. It is killed (by PID) when `stop()` is called, when the
/// instance is deallocated, or when the host process exits — pass or fail.
public final class QEMUInstance: @unchecked Sendable {
    public let configuration: QEMUConfiguration
    /// The full command line that was run.
    public let arguments: [String]
    /// "127.0.0.1:PORT" or a Unix socket path, when a gdbstub was requested.
    public let gdbAddress: String?
    public let gdbPort: Int?
    public var pid: Int32 { process.processIdentifier }

    private let process: Process
    private let lock = NSLock()
    private var output = Data()
    private let outputChanged = NSCondition()

    /// Starts QEMU. Fails with a clear error if the binary or kernel is missing.
    public init(_ configuration: QEMUConfiguration) throws(QEMUError) {
        self.configuration = configuration
        guard let exe = QEMUInstance.findExecutable(configuration.executable) else {
            throw .executableNotFound(configuration.executable)
        }
        guard FileManager.default.fileExists(atPath: configuration.kernel) else {
            throw .kernelNotFound(configuration.kernel)
        }
        var args = ["-M", configuration.machine, "-cpu", configuration.cpu, "-m", configuration.memory,
                    "-smp", String(configuration.smp),
                    "-display", "none", "-monitor", "none", "-serial", "stdio",
                    "-kernel", configuration.kernel]
        if let append = configuration.append { args += ["-append", append] }
        var address: String? = nil
        var port: Int? = nil
        switch configuration.gdb {
        case .none: break
        case .tcpFreePort:
            guard let p = QEMUInstance.freeTCPPort() else { throw .launchFailed("no free TCP port") }
            port = p
            address = "127.0.0.1:\(p)"
            args += ["-gdb", "tcp:127.0.0.1:\(p)"]
        case .tcp(let p):
            port = p
            address = "127.0.0.1:\(p)"
            args += ["-gdb", "tcp:127.0.0.1:\(p)"]
        case .unixSocket(let path):
            address = path
            args += ["-chardev", "socket,path=\(path),server=on,wait=off,id=gdb0", "-gdb", "chardev:gdb0"]
        }
        if configuration.stoppedAtEntry { args.append("-S") }
        if configuration.noShutdown { args.append("-no-shutdown") }
        if let shift = configuration.icountShift { args += ["-icount", "shift=\(shift),align=off,sleep=off"] }
        args += configuration.extraArguments
        self.arguments = [exe] + args
        self.gdbAddress = address
        self.gdbPort = port

        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = args
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        self.process = process
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let chunk = handle.availableData
            guard let self else { return }
            self.outputChanged.lock()
            if chunk.isEmpty {
                handle.readabilityHandler = nil
            } else {
                self.output.append(chunk)
            }
            self.outputChanged.broadcast()
            self.outputChanged.unlock()
        }
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.outputChanged.lock()
            self.outputChanged.broadcast()
            self.outputChanged.unlock()
        }
        do { try process.run() } catch {
            throw .launchFailed("\(exe): \(error)")
        }
        LiveQEMUs.shared.add(process.processIdentifier)
        if configuration.gdb != .none {
            try waitForGdbStub(deadline: 10)
        }
    }

    deinit { stop() }

    /// Everything QEMU wrote (the guest's serial console plus QEMU's own messages).
    public var outputText: String {
        outputChanged.lock(); defer { outputChanged.unlock() }
        return String(decoding: output, as: UTF8.self)
    }

    public var isRunning: Bool { process.isRunning }

    /// Waits until the output contains `text`; returns the output so far.
    @discardableResult
    public func waitForOutput(containing text: String, timeout: Double) throws(QEMUError) -> String {
        try waitUntil(timeout: timeout, what: "\"\(text)\"") { out, _ in out.contains(text) }
    }

    /// Waits until the output matches the predicate, or QEMU exits, or the deadline passes.
    @discardableResult
    public func waitUntil(timeout: Double, what: String, _ predicate: (String, Bool) -> Bool) throws(QEMUError) -> String {
        let deadline = Date().addingTimeInterval(timeout)
        outputChanged.lock()
        defer { outputChanged.unlock() }
        while true {
            let text = String(decoding: output, as: UTF8.self)
            let running = process.isRunning
            if predicate(text, running) { return text }
            if !running {
                throw .exitedEarly(status: process.terminationStatus, output: text)
            }
            if !outputChanged.wait(until: deadline) && Date() >= deadline {
                throw .timedOut(waitingFor: what, seconds: timeout, lastOutput: String(decoding: output, as: UTF8.self))
            }
        }
    }

    /// Waits for QEMU to exit by itself (e.g. PSCI SYSTEM_OFF); returns its exit status.
    @discardableResult
    public func waitForExit(timeout: Double) throws(QEMUError) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() >= deadline {
                throw .timedOut(waitingFor: "QEMU to exit", seconds: timeout, lastOutput: outputText)
            }
            usleep(2_000)
        }
        // Let the reader drain the pipe.
        outputChanged.lock()
        _ = outputChanged.wait(until: Date().addingTimeInterval(0.05))
        outputChanged.unlock()
        return process.terminationStatus
    }

    /// Kills QEMU (SIGKILL by PID) if it is still running, and reaps it.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        LiveQEMUs.shared.remove(process.processIdentifier)
    }

    private func waitForGdbStub(deadline seconds: Double) throws(QEMUError) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !process.isRunning {
                usleep(20_000)
                throw .exitedEarly(status: process.terminationStatus, output: outputText)
            }
            switch configuration.gdb {
            case .tcpFreePort, .tcp:
                if let port = gdbPort, QEMUInstance.isListening(port: port) { return }
            case .unixSocket(let path):
                if FileManager.default.fileExists(atPath: path) { return }
            case .none:
                return
            }
            usleep(5_000)
        }
        throw .timedOut(waitingFor: "the gdbstub to listen", seconds: seconds, lastOutput: outputText)
    }

    // MARK: helpers

    /// Finds `name` on PATH (or returns it if it is a path to an executable).
    public static func findExecutable(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0).
    public static func freeTCPPort() -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return nil }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func isListening(port: Int) -> Bool {
        // /proc/net/tcp lists listening sockets (state 0A) without connecting:
        // connecting to QEMU's gdbstub would count as the debugger's session.
        guard let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        let hexPort = String(format: ":%04X", port)
        for line in table.split(separator: "\n").dropFirst() {
            let cols = line.split(separator: " ")
            if cols.count > 3, cols[1].hasSuffix(hexPort), cols[3] == "0A" { return true }
        }
        return false
    }
}

/// Every QEMU this process started; killed at exit even if a test crashes
/// out of its normal cleanup path.
final class LiveQEMUs: @unchecked Sendable {
    static let shared = LiveQEMUs()
    private let lock = NSLock()
    private var pids = Set<Int32>()

    private init() {
        atexit {
            for pid in LiveQEMUs.shared.snapshot() { kill(pid, SIGKILL) }
        }
    }
    func add(_ pid: Int32) { lock.lock(); pids.insert(pid); lock.unlock() }
    func remove(_ pid: Int32) { lock.lock(); pids.remove(pid); lock.unlock() }
    func snapshot() -> [Int32] { lock.lock(); defer { lock.unlock() }; return Array(pids) }
}
