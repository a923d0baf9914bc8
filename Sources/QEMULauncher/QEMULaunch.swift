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
    /// The file guest RAM lives in (nil: QEMU's anonymous RAM), and why there is none.
    let sharedRAM: SharedRAMFile?
    let sharedRAMUnavailable: String?

    /// Starts QEMU; `freePort` is the port chosen for `.tcpFreePort`.
    init(configuration: QEMUConfiguration, executable: String, freePort: Int?) throws(QEMUError) {
        let (sharedRAM, sharedRAMUnavailable) = Self.sharedRAMFile(for: configuration)
        var machine = configuration.machine
        if sharedRAM != nil {
            // One -M: the machine's own options stay, the backend joins them; -m keeps the
            // size the backend was made with (QEMU refuses a mismatch).
            machine += ",memory-backend=\(SharedRAMFile.backendID)"
        }
        var args = ["-M", machine, "-cpu", configuration.cpu, "-m", configuration.memory,
                    "-smp", String(configuration.smp),
                    "-display", "none", "-monitor", "none", "-serial", "stdio",
                    "-kernel", configuration.kernel]
        if let append = configuration.append { args += ["-append", append] }
        if let sharedRAM { args += ["-object", sharedRAM.objectArgument] }
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
            var icount = "shift=\(shift),align=off,sleep=\(configuration.icountSleep ? "on" : "off")"
            if let rr = configuration.recordReplay {
                icount += ",rr=\(rr.mode.rawValue),rrfile=\(rr.eventLog),rrsnapshot=\(RecordReplay.initialSnapshot)"
                args += ["-drive", "file=\(rr.snapshotImage),if=none,id=rr", "-net", "none"]
            }
            args += ["-icount", icount]
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
            sharedRAM?.unlinkPath()
            throw .launchFailed("\(executable): \(error)")
        }
        // Registered before anything else can fail, so every exit path kills it.
        LiveQEMUs.shared.add(process.processIdentifier)
        var watchdog: ParentDeathWatchdog? = nil
        if configuration.killWhenHostDies {
            do { watchdog = try ParentDeathWatchdog(watching: process.processIdentifier, removing: sharedRAM?.path) } catch {
                Self.stop(process: process, watchdog: nil, sharedRAM: sharedRAM)
                throw error
            }
        }
        // QEMU exiting by itself: the watchdog must not outlive the PID it watches.
        output.onExit = { [weak watchdog] in watchdog?.disarm() }
        self.process = process
        self.watchdog = watchdog
        self.output = output
        self.sharedRAM = sharedRAM
        self.sharedRAMUnavailable = sharedRAMUnavailable
    }

    /// The shared RAM file this configuration asks for, or why there is none (never fatal:
    /// QEMU then keeps its anonymous RAM and debuggers read through the stub).
    static func sharedRAMFile(for configuration: QEMUConfiguration) -> (SharedRAMFile?, String?) {
        guard configuration.sharedRAM else { return (nil, "shared RAM is off in the configuration") }
        if configuration.machine.contains("memory-backend") || configuration.extraArguments.contains(where: { $0.contains("memory-backend") }) {
            return (nil, "the configuration chooses its own memory backend")
        }
        // An extra -m or -M overrides ours (the last one wins) and the backend's size or
        // machine would no longer match: QEMU would refuse to start.
        if let option = configuration.extraArguments.first(where: { ["-m", "-M", "-machine"].contains($0) || $0.hasPrefix("-machine=") }) {
            return (nil, "the extra QEMU arguments set \(option) themselves")
        }
        guard let size = SharedRAMFile.guestRAMBytes(configuration.memory) else {
            return (nil, "-m \(configuration.memory) is not a size the launcher understands")
        }
        do throws(QEMUError) {
            return (try SharedRAMFile(size: size, machine: configuration.machine), nil)
        } catch {
            return (nil, error.description)
        }
    }

    /// Once QEMU has mapped its RAM file, unlinks the name (see `SharedGuestRAM`).
    /// A QEMU that exits first needs no file; one that is still running without
    /// having mapped it by the deadline is a launch failure.
    func releaseSharedRAMName(deadline seconds: Double) throws(QEMUError) {
        guard let sharedRAM else { return }
        let mapped = sharedRAM.waitUntilMapped(by: process, deadline: seconds)
        sharedRAM.unlinkPath()
        if !mapped && process.isRunning {
            throw .timedOut(waitingFor: "QEMU to map its RAM file \(sharedRAM.path)", seconds: seconds, lastOutput: output.everything)
        }
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

    func stop() { Self.stop(process: process, watchdog: watchdog, sharedRAM: sharedRAM) }

    /// Disarms the watchdog, then kills QEMU by PID (if running) and reaps it;
    /// removes the RAM file's name and closes our descriptor to it.
    static func stop(process: Process, watchdog: ParentDeathWatchdog?, sharedRAM: SharedRAMFile?) {
        watchdog?.disarm()
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        LiveQEMUs.shared.remove(process.processIdentifier)
        sharedRAM?.unlinkPath()
        sharedRAM?.closeDescriptor()
    }
}
