import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One attempt at starting QEMU: the command line, the process with its
/// captured output, its registration in `LiveQEMUs` and its watchdog.
struct Launch {
    let arguments: [String]
    let gdbAddress: String?
    let gdbPort: Int?
    let process: Process
    let watchdog: ParentDeathWatchdog?
    let output: CapturedOutput

    /// Starts QEMU; `freePort` is the port chosen for `.tcpFreePort`.
    init(configuration: QEMUConfiguration, executable: String, freePort: Int?) throws(QEMUError) {
        var args = ["-M", configuration.machine, "-cpu", configuration.cpu, "-m", configuration.memory,
                    "-smp", String(configuration.smp),
                    "-display", "none", "-monitor", "none", "-serial", "stdio",
                    "-kernel", configuration.kernel]
        if let append = configuration.append { args += ["-append", append] }
        var address: String? = nil
        var port: Int? = nil
        switch configuration.gdb {
        case .none: break
        case .tcpFreePort, .tcp:
            if case .tcp(let fixed) = configuration.gdb { port = fixed } else { port = freePort }
            address = "127.0.0.1:\(port!)"
            args += ["-gdb", "tcp:127.0.0.1:\(port!)"]
        case .unixSocket(let path):
            address = path
            args += ["-chardev", "socket,path=\(path),server=on,wait=off,id=gdb0", "-gdb", "chardev:gdb0"]
        }
        if configuration.stoppedAtEntry { args.append("-S") }
        if configuration.noShutdown { args.append("-no-shutdown") }
        if let shift = configuration.icountShift {
            args += ["-icount", "shift=\(shift),align=off,sleep=\(configuration.icountSleep ? "on" : "off")"]
        }
        args += configuration.extraArguments
        arguments = [executable] + args
        gdbAddress = address
        gdbPort = port

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        // -serial stdio reads stdin: QEMU gets no input from the host.
        process.standardInput = FileHandle.nullDevice
        let output = CapturedOutput()
        output.capture(from: process)
        do { try process.run() } catch {
            throw .launchFailed("\(executable): \(error)")
        }
        // Registered before anything else can fail, so every exit path kills it.
        LiveQEMUs.shared.add(process.processIdentifier)
        var watchdog: ParentDeathWatchdog? = nil
        if configuration.killWhenHostDies {
            do { watchdog = try ParentDeathWatchdog(watching: process.processIdentifier) } catch {
                Self.stop(process: process, watchdog: nil)
                throw error
            }
        }
        // QEMU exiting by itself: the watchdog must not outlive the PID it watches.
        output.onExit = { [weak watchdog] in watchdog?.disarm() }
        self.process = process
        self.watchdog = watchdog
        self.output = output
    }

    /// Waits until QEMU (this PID, not another process on the port) accepts debugger connections.
    func waitForGdbStub(_ stub: QEMUConfiguration.GdbStub, deadline seconds: Double) throws(QEMUError) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !process.isRunning {
                output.drain()  // its last words (a port already in use) decide a retry
                throw .exitedEarly(status: process.terminationStatus, output: output.everything)
            }
            switch stub {
            case .tcpFreePort, .tcp:
                if let port = gdbPort, ListeningSockets.isListening(port: port, pid: process.processIdentifier) { return }
            case .unixSocket(let path):
                if ListeningSockets.isListening(unixPath: path, pid: process.processIdentifier) { return }
            case .none:
                return
            }
            usleep(5_000)
        }
        throw .timedOut(waitingFor: "the gdbstub to listen", seconds: seconds, lastOutput: output.everything)
    }

    func stop() { Self.stop(process: process, watchdog: watchdog) }

    /// Disarms the watchdog, then kills QEMU by PID (if running) and reaps it.
    static func stop(process: Process, watchdog: ParentDeathWatchdog?) {
        watchdog?.disarm()
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        LiveQEMUs.shared.remove(process.processIdentifier)
    }
}
