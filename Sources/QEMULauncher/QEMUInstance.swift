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
    /// `-icount shift=N,align=off,sleep=…`: guest time is instruction count,
    /// so runs are deterministic.
    public var icountShift: Int? = nil
    /// With `icountShift`: `sleep=on` lets idle guest time (WFI) pass in real
    /// time. Off (the default) is fully virtual time: idle skips to the next
    /// timer deadline, so runs are deterministic, debugger stops included as
    /// long as the guest has no timer armed where it stops (QEMU 7.2 warps to
    /// the deadline at a debug stop; the bundled kernel disables its timer
    /// while IRQs are masked; docs/fault-injection-determinism.md). Under
    /// sleep=on that warp is host time, so stops leak into guest time.
    public var icountSleep = false
    /// `-no-shutdown`: power-off stops the VM instead of exiting QEMU.
    public var noShutdown = false
    public var extraArguments: [String] = []
    /// Record or replay QEMU's event log (`-icount …,rr=record|replay`); needs `icountShift`.
    public var recordReplay: RecordReplay? = nil
    /// Back guest RAM with a file the debugger maps (`memory-backend-file,share=on`,
    /// same size as `memory`): physical reads of a stopped target become memcpy.
    /// On by default; when off, or when the file cannot be made, QEMU keeps its
    /// anonymous RAM (`QEMUInstance.sharedRAMUnavailableReason` says why).
    public var sharedRAM = true
    /// Start a supervisor that kills QEMU if this process is SIGKILLed
    /// (`ParentDeathWatchdog`). Tests turn it off to check the signal handlers alone.
    public var killWhenHostDies = true
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
/// instance is deallocated, when the host process exits or dies of a crash or
/// termination signal (`LiveQEMUs`), and when the host is SIGKILLed
/// (`ParentDeathWatchdog`) — pass or fail.
public final class QEMUInstance: @unchecked Sendable {
    public let configuration: QEMUConfiguration
    /// The full command line that was run.
    public let arguments: [String]
    /// "127.0.0.1:PORT" or a Unix socket path, when a gdbstub was requested.
    public let gdbAddress: String?
    public let gdbPort: Int?
    /// QEMU's own PID (not a wrapper's).
    public var pid: Int32 { process.processIdentifier }
    /// The PID of the supervisor that kills QEMU if this process dies; nil when disabled.
    public var watchdogPID: Int32? { watchdog?.pid }

    /// Guest RAM's backing file (descriptor, size, backend id), nil when QEMU
    /// runs with anonymous RAM, and after `stop()`, which closes the descriptor.
    public var sharedRAM: SharedGuestRAM? {
        guard let file = sharedRAMFile, !stopLock.withLock({ stopped }) else { return nil }
        return file.exposed
    }
    /// Why `sharedRAM` is nil (off in the configuration, unknown -m syntax, file not created).
    public let sharedRAMUnavailableReason: String?

    private let process: Process
    private let watchdog: ParentDeathWatchdog?
    private let output: CapturedOutput
    private let sharedRAMFile: SharedRAMFile?
    private let stopLock = NSLock()
    private var stopped = false

    /// How many fresh ports `.tcpFreePort` tries when another process takes the
    /// chosen port between our probe and QEMU's bind.
    static let freePortAttempts = 5

    /// Starts QEMU. Fails with a clear error if the binary or kernel is missing.
    public convenience init(_ configuration: QEMUConfiguration) throws(QEMUError) {
        try self.init(configuration, portPicker: QEMUInstance.freeTCPPort)
    }

    /// `portPicker` chooses the port for `.tcpFreePort` (tests inject a busy one).
    init(_ configuration: QEMUConfiguration, portPicker: () -> Int?) throws(QEMUError) {
        self.configuration = configuration
        guard let exe = QEMUInstance.findExecutable(configuration.executable) else {
            throw .executableNotFound(configuration.executable)
        }
        guard FileManager.default.fileExists(atPath: configuration.kernel) else {
            throw .kernelNotFound(configuration.kernel)
        }
        let attempts = configuration.gdb == .tcpFreePort ? Self.freePortAttempts : 1
        var attempt = 1
        while true {
            var port: Int? = nil
            if configuration.gdb == .tcpFreePort {
                guard let picked = portPicker() else { throw .launchFailed("no free TCP port") }
                port = picked
            }
            let launch = try Launch(configuration: configuration, executable: exe, freePort: port)
            do {
                if configuration.gdb != .none { try launch.waitForGdbStub(configuration.gdb, deadline: 30) }  // generous: suites boot QEMUs side by side on few cores
                try launch.releaseSharedRAMName(deadline: 30)
                self.arguments = launch.arguments
                self.gdbAddress = launch.gdbAddress
                self.gdbPort = launch.gdbPort
                self.process = launch.process
                self.watchdog = launch.watchdog
                self.output = launch.output
                self.sharedRAMFile = launch.sharedRAM
                self.sharedRAMUnavailableReason = launch.sharedRAMUnavailable
                return
            } catch {
                launch.stop()
                // Another process bound the port after freeTCPPort released it: try a new one.
                if attempt < attempts, case .exitedEarly(_, let text) = error, Self.lostPortRace(text) {
                    attempt += 1
                    continue
                }
                throw error
            }
        }
    }

    deinit { stop() }

    /// The guest's serial console: exactly what the guest wrote to the UART.
    public var outputText: String { output.text }

    /// QEMU's own messages on stderr (warnings, errors), kept apart from the console.
    public var diagnosticsText: String { output.diagnosticsText }

    public var isRunning: Bool { process.isRunning }

    /// Waits until the output contains `text`; returns the output so far.
    @discardableResult
    public func waitForOutput(containing text: String, timeout: Double) throws(QEMUError) -> String {
        try waitUntil(timeout: timeout, what: "\"\(text)\"") { out, _ in out.contains(text) }
    }

    /// Waits until the output matches the predicate, or QEMU exits, or the deadline passes.
    @discardableResult
    public func waitUntil(timeout: Double, what: String, _ predicate: (String, Bool) -> Bool) throws(QEMUError) -> String {
        try output.waitUntil(process: process, timeout: timeout, what: what, predicate)
    }

    /// Waits for QEMU to exit by itself (e.g. PSCI SYSTEM_OFF); returns its exit status.
    @discardableResult
    public func waitForExit(timeout: Double) throws(QEMUError) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() >= deadline {
                throw .timedOut(waitingFor: "QEMU to exit", seconds: timeout, lastOutput: output.everything)
            }
            usleep(2_000)
        }
        // Everything QEMU wrote before exiting is in the pipes: collect it all.
        output.drain()
        return process.terminationStatus
    }

    /// Kills QEMU (SIGKILL by PID) if it is still running, and reaps it; closes
    /// the RAM file descriptor (mappings made from it stay valid until unmapped).
    public func stop() {
        stopLock.withLock { stopped = true }
        Launch.stop(process: process, watchdog: watchdog, sharedRAM: sharedRAMFile)
    }

    /// True when a port-in-use failure (not a real error) ended QEMU.
    static func lostPortRace(_ output: String) -> Bool {
        output.contains("Address already in use") || output.contains("Failed to find an available port")
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

    /// True when QEMU process `pid` itself listens on `port` (another process's
    /// listener on the same port does not count).
    public static func isListening(port: Int, pid: Int32) -> Bool {
        ListeningSockets.isListening(port: port, pid: pid)
    }
}
